{
	"patcher": {
		"fileversion": 1,
		"appversion": {
			"major": 9,
			"minor": 0,
			"revision": 5,
			"architecture": "x64",
			"modernui": 1
		},
		"classnamespace": "box",
		"rect": [
			100,
			100,
			900,
			660
		],
		"gridsize": [
			15.0,
			15.0
		],
		"showrootpatcherontab": 0,
		"showontab": 0,
		"boxes": [
			{
				"box": {
					"id": "obj-1",
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 0,
					"patching_rect": [
						20,
						20,
						60.1,
						22.0
					],
					"text": "p basic",
					"patcher": {
						"fileversion": 1,
						"appversion": {
							"major": 9,
							"minor": 0,
							"revision": 5,
							"architecture": "x64",
							"modernui": 1
						},
						"classnamespace": "box",
						"rect": [
							0,
							26,
							900,
							620
						],
						"gridsize": [
							15.0,
							15.0
						],
						"showontab": 1,
						"boxes": [
							{
								"box": {
									"id": "obj-1",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										10,
										300,
										38.4
									],
									"text": "lmdm.bridge",
									"fontsize": 24,
									"presentation": 1,
									"presentation_rect": [
										20,
										10,
										300,
										38.4
									]
								}
							},
							{
								"box": {
									"id": "obj-2",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										50,
										560,
										49.5
									],
									"text": "Plays a Live Music Diffusion Model from Max. The worker (`lmdm serve`) runs the model; this abstraction streams your audio to it and plays its answer at the exact sample position the worker stated."
								}
							},
							{
								"box": {
									"id": "obj-3",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										105,
										560,
										49.5
									],
									"text": "1. start the worker in a terminal:  lmdm serve --model loopback   (loopback: your input comes back one block later, to check the routing)\n2. turn audio on (click the speaker)"
								}
							},
							{
								"box": {
									"id": "obj-4",
									"maxclass": "ezadc~",
									"numinlets": 1,
									"numoutlets": 2,
									"patching_rect": [
										20,
										190,
										45,
										45
									],
									"outlettype": [
										"signal",
										"signal"
									],
									"presentation": 1,
									"presentation_rect": [
										20,
										60,
										45,
										45
									]
								}
							},
							{
								"box": {
									"id": "obj-5",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										165,
										160,
										20.5
									],
									"text": "input (audio in)",
									"presentation": 1,
									"presentation_rect": [
										20,
										110,
										160,
										20.5
									]
								}
							},
							{
								"box": {
									"id": "obj-6",
									"maxclass": "newobj",
									"numinlets": 3,
									"numoutlets": 3,
									"outlettype": [
										"",
										"",
										""
									],
									"patching_rect": [
										20,
										360,
										150,
										22
									],
									"text": "lmdm.bridge"
								}
							},
							{
								"box": {
									"id": "obj-7",
									"maxclass": "ezdac~",
									"numinlets": 2,
									"numoutlets": 0,
									"patching_rect": [
										20,
										410,
										45,
										45
									],
									"presentation": 1,
									"presentation_rect": [
										200,
										60,
										45,
										45
									]
								}
							},
							{
								"box": {
									"id": "obj-8",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										75,
										420,
										200,
										35
									],
									"text": "output: the worker's audio, at the sample it stated",
									"presentation": 1,
									"presentation_rect": [
										255,
										65,
										200,
										35
									]
								}
							},
							{
								"box": {
									"id": "obj-9",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										220,
										190,
										60.1,
										22
									],
									"text": "connect",
									"presentation": 1,
									"presentation_rect": [
										20,
										150,
										60.1,
										22
									]
								}
							},
							{
								"box": {
									"id": "obj-10",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										220,
										220,
										91.6,
										22
									],
									"text": "connect 5555",
									"presentation": 1,
									"presentation_rect": [
										20,
										180,
										91.6,
										22
									]
								}
							},
							{
								"box": {
									"id": "obj-11",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										220,
										250,
										173.5,
										22
									],
									"text": "connect 192.168.1.20 5555",
									"presentation": 1,
									"presentation_rect": [
										20,
										210,
										173.5,
										22
									]
								}
							},
							{
								"box": {
									"id": "obj-12",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										220,
										280,
										79,
										22
									],
									"text": "disconnect",
									"presentation": 1,
									"presentation_rect": [
										20,
										240,
										79,
										22
									]
								}
							},
							{
								"box": {
									"id": "obj-13",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										220,
										310,
										53.8,
										22
									],
									"text": "status",
									"presentation": 1,
									"presentation_rect": [
										20,
										270,
										53.8,
										22
									]
								}
							},
							{
								"box": {
									"id": "obj-14",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										440,
										190,
										280,
										100
									],
									"text": "connects by itself on load to 127.0.0.1:5555 (or the port argument); a worker on another machine needs `lmdm serve --zmq tcp://0.0.0.0:5555 --curve-keys keys` there and `curve <client folder>` here (docs/security.md)",
									"presentation": 1,
									"presentation_rect": [
										240,
										150,
										280,
										100
									]
								}
							},
							{
								"box": {
									"id": "obj-15",
									"maxclass": "newobj",
									"numinlets": 4,
									"numoutlets": 4,
									"outlettype": [
										"",
										"",
										"",
										""
									],
									"patching_rect": [
										320,
										410,
										154.6,
										22
									],
									"text": "route status ack error"
								}
							},
							{
								"box": {
									"id": "obj-16",
									"maxclass": "newobj",
									"numinlets": 5,
									"numoutlets": 5,
									"outlettype": [
										"",
										"",
										"",
										"",
										""
									],
									"patching_rect": [
										320,
										445,
										268,
										22
									],
									"text": "route connected latency underruns rtt_ms"
								}
							},
							{
								"box": {
									"id": "obj-17",
									"maxclass": "number",
									"numinlets": 1,
									"numoutlets": 2,
									"patching_rect": [
										320,
										485,
										60,
										22
									],
									"outlettype": [
										"",
										"bang"
									],
									"parameter_enable": 0,
									"presentation": 1,
									"presentation_rect": [
										20,
										320,
										60,
										22
									]
								}
							},
							{
								"box": {
									"id": "obj-18",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										320,
										510,
										90,
										20.5
									],
									"text": "connected",
									"presentation": 1,
									"presentation_rect": [
										20,
										345,
										90,
										20.5
									]
								}
							},
							{
								"box": {
									"id": "obj-19",
									"maxclass": "number",
									"numinlets": 1,
									"numoutlets": 2,
									"patching_rect": [
										415,
										485,
										60,
										22
									],
									"outlettype": [
										"",
										"bang"
									],
									"parameter_enable": 0,
									"presentation": 1,
									"presentation_rect": [
										115,
										320,
										60,
										22
									]
								}
							},
							{
								"box": {
									"id": "obj-20",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										415,
										510,
										90,
										20.5
									],
									"text": "latency",
									"presentation": 1,
									"presentation_rect": [
										115,
										345,
										90,
										20.5
									]
								}
							},
							{
								"box": {
									"id": "obj-21",
									"maxclass": "number",
									"numinlets": 1,
									"numoutlets": 2,
									"patching_rect": [
										510,
										485,
										60,
										22
									],
									"outlettype": [
										"",
										"bang"
									],
									"parameter_enable": 0,
									"presentation": 1,
									"presentation_rect": [
										210,
										320,
										60,
										22
									]
								}
							},
							{
								"box": {
									"id": "obj-22",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										510,
										510,
										90,
										20.5
									],
									"text": "underruns",
									"presentation": 1,
									"presentation_rect": [
										210,
										345,
										90,
										20.5
									]
								}
							},
							{
								"box": {
									"id": "obj-23",
									"maxclass": "flonum",
									"numinlets": 1,
									"numoutlets": 2,
									"patching_rect": [
										605,
										485,
										60,
										22
									],
									"outlettype": [
										"",
										"bang"
									],
									"parameter_enable": 0,
									"format": 6,
									"presentation": 1,
									"presentation_rect": [
										305,
										320,
										60,
										22
									]
								}
							},
							{
								"box": {
									"id": "obj-24",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										605,
										510,
										90,
										20.5
									],
									"text": "rtt ms",
									"presentation": 1,
									"presentation_rect": [
										305,
										345,
										90,
										20.5
									]
								}
							},
							{
								"box": {
									"id": "obj-25",
									"maxclass": "newobj",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										620,
										445,
										79,
										22
									],
									"text": "print lmdm"
								}
							},
							{
								"box": {
									"id": "obj-26",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										570,
										700,
										35
									],
									"text": "You hear your input come back from the worker one latency later: itself with --model loopback, transformed by the model with plain lmdm serve (mode delay).",
									"presentation": 1,
									"presentation_rect": [
										20,
										380,
										700,
										35
									]
								}
							}
						],
						"lines": [
							{
								"patchline": {
									"source": [
										"obj-4",
										0
									],
									"destination": [
										"obj-6",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-4",
										1
									],
									"destination": [
										"obj-6",
										1
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-6",
										0
									],
									"destination": [
										"obj-7",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-6",
										1
									],
									"destination": [
										"obj-7",
										1
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-9",
										0
									],
									"destination": [
										"obj-6",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-10",
										0
									],
									"destination": [
										"obj-6",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-11",
										0
									],
									"destination": [
										"obj-6",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-12",
										0
									],
									"destination": [
										"obj-6",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-13",
										0
									],
									"destination": [
										"obj-6",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-6",
										2
									],
									"destination": [
										"obj-15",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-15",
										0
									],
									"destination": [
										"obj-16",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-16",
										0
									],
									"destination": [
										"obj-17",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-16",
										1
									],
									"destination": [
										"obj-19",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-16",
										2
									],
									"destination": [
										"obj-21",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-16",
										3
									],
									"destination": [
										"obj-23",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-15",
										1
									],
									"destination": [
										"obj-25",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-15",
										2
									],
									"destination": [
										"obj-25",
										0
									]
								}
							}
						]
					},
					"saved_object_attributes": {
						"globalpatchername": ""
					}
				}
			},
			{
				"box": {
					"id": "obj-2",
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 0,
					"patching_rect": [
						120,
						20,
						91.6,
						22.0
					],
					"text": "p parameters",
					"patcher": {
						"fileversion": 1,
						"appversion": {
							"major": 9,
							"minor": 0,
							"revision": 5,
							"architecture": "x64",
							"modernui": 1
						},
						"classnamespace": "box",
						"rect": [
							0,
							26,
							900,
							560
						],
						"gridsize": [
							15.0,
							15.0
						],
						"showontab": 1,
						"boxes": [
							{
								"box": {
									"id": "obj-1",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										10,
										860,
										35
									],
									"text": "Modes and parameters (names and ranges: docs/osc.md). Out-of-range numbers are clamped; the ack outlet says the value applied."
								}
							},
							{
								"box": {
									"id": "obj-2",
									"maxclass": "newobj",
									"numinlets": 3,
									"numoutlets": 3,
									"outlettype": [
										"",
										"",
										""
									],
									"patching_rect": [
										600,
										460,
										150,
										22
									],
									"text": "lmdm.bridge"
								}
							},
							{
								"box": {
									"id": "obj-3",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										300,
										50,
										79.0,
										22
									],
									"text": "mode delay"
								}
							},
							{
								"box": {
									"id": "obj-4",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										50,
										270,
										20.5
									],
									"text": "generative delay of the input"
								}
							},
							{
								"box": {
									"id": "obj-5",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										300,
										80,
										72.69999999999999,
										22
									],
									"text": "mode text"
								}
							},
							{
								"box": {
									"id": "obj-6",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										80,
										270,
										20.5
									],
									"text": "text only: no input needed"
								}
							},
							{
								"box": {
									"id": "obj-7",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										300,
										110,
										66.4,
										22
									],
									"text": "mode jam"
								}
							},
							{
								"box": {
									"id": "obj-8",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										110,
										270,
										20.5
									],
									"text": "accompaniment to the input"
								}
							},
							{
								"box": {
									"id": "obj-9",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										300,
										140,
										85.3,
										22
									],
									"text": "mode sketch"
								}
							},
							{
								"box": {
									"id": "obj-10",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										140,
										270,
										20.5
									],
									"text": "input pitch/loudness/brightness drive it"
								}
							},
							{
								"box": {
									"id": "obj-11",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										300,
										170,
										198.7,
										22
									],
									"text": "param prompt warm synth pad"
								}
							},
							{
								"box": {
									"id": "obj-12",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										170,
										270,
										20.5
									],
									"text": "the prompt (all its words are one)"
								}
							},
							{
								"box": {
									"id": "obj-13",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										300,
										200,
										186.1,
										22
									],
									"text": "param prompt_b marimba"
								}
							},
							{
								"box": {
									"id": "obj-14",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										200,
										270,
										20.5
									],
									"text": "second prompt, for blend"
								}
							},
							{
								"box": {
									"id": "obj-15",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										300,
										230,
										97.89999999999999,
										22
									],
									"text": "param cfg 2.5"
								}
							},
							{
								"box": {
									"id": "obj-16",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										230,
										270,
										20.5
									],
									"text": "guidance (1 = off)"
								}
							},
							{
								"box": {
									"id": "obj-17",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										300,
										260,
										97.89999999999999,
										22
									],
									"text": "param steps 8"
								}
							},
							{
								"box": {
									"id": "obj-18",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										260,
										270,
										20.5
									],
									"text": "sampler steps per block"
								}
							},
							{
								"box": {
									"id": "obj-19",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										300,
										290,
										91.6,
										22
									],
									"text": "param seed 7"
								}
							},
							{
								"box": {
									"id": "obj-20",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										290,
										270,
										20.5
									],
									"text": "noise seed"
								}
							},
							{
								"box": {
									"id": "obj-21",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										300,
										320,
										66.4,
										22
									],
									"text": "downbeat"
								}
							},
							{
								"box": {
									"id": "obj-22",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										320,
										270,
										20.5
									],
									"text": "now is a bar start (sets `bar`)"
								}
							},
							{
								"box": {
									"id": "obj-23",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										300,
										350,
										97.89999999999999,
										22
									],
									"text": "param bpm 120"
								}
							},
							{
								"box": {
									"id": "obj-24",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										350,
										270,
										20.5
									],
									"text": "tempo for bar alignment"
								}
							},
							{
								"box": {
									"id": "obj-25",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										300,
										380,
										47.5,
										22
									],
									"text": "reset"
								}
							},
							{
								"box": {
									"id": "obj-26",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										380,
										270,
										20.5
									],
									"text": "clear the model state and clocks"
								}
							},
							{
								"box": {
									"id": "obj-27",
									"maxclass": "flonum",
									"numinlets": 1,
									"numoutlets": 2,
									"patching_rect": [
										600,
										50,
										60,
										22
									],
									"outlettype": [
										"",
										"bang"
									],
									"parameter_enable": 0,
									"format": 6
								}
							},
							{
								"box": {
									"id": "obj-28",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										600,
										75,
										91.6,
										22
									],
									"text": "param mix $1"
								}
							},
							{
								"box": {
									"id": "obj-29",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										735,
										75,
										160,
										35
									],
									"text": "0 = dry (delayed, bit-exact), 1 = wet"
								}
							},
							{
								"box": {
									"id": "obj-30",
									"maxclass": "flonum",
									"numinlets": 1,
									"numoutlets": 2,
									"patching_rect": [
										600,
										120,
										60,
										22
									],
									"outlettype": [
										"",
										"bang"
									],
									"parameter_enable": 0,
									"format": 6
								}
							},
							{
								"box": {
									"id": "obj-31",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										600,
										145,
										97.9,
										22
									],
									"text": "param gain $1"
								}
							},
							{
								"box": {
									"id": "obj-32",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										735,
										145,
										160,
										20.5
									],
									"text": "output gain"
								}
							},
							{
								"box": {
									"id": "obj-33",
									"maxclass": "flonum",
									"numinlets": 1,
									"numoutlets": 2,
									"patching_rect": [
										600,
										180,
										60,
										22
									],
									"outlettype": [
										"",
										"bang"
									],
									"parameter_enable": 0,
									"format": 6
								}
							},
							{
								"box": {
									"id": "obj-34",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										600,
										205,
										104.2,
										22
									],
									"text": "param blend $1"
								}
							},
							{
								"box": {
									"id": "obj-35",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										735,
										205,
										160,
										35
									],
									"text": "0 = prompt, 1 = prompt_b"
								}
							},
							{
								"box": {
									"id": "obj-36",
									"maxclass": "flonum",
									"numinlets": 1,
									"numoutlets": 2,
									"patching_rect": [
										600,
										250,
										60,
										22
									],
									"outlettype": [
										"",
										"bang"
									],
									"parameter_enable": 0,
									"format": 6
								}
							},
							{
								"box": {
									"id": "obj-37",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										600,
										275,
										123.1,
										22
									],
									"text": "param feedback $1"
								}
							},
							{
								"box": {
									"id": "obj-38",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										735,
										275,
										160,
										20.5
									],
									"text": "delay feedback 0..0.95"
								}
							},
							{
								"box": {
									"id": "obj-39",
									"maxclass": "toggle",
									"numinlets": 1,
									"numoutlets": 1,
									"patching_rect": [
										600,
										315,
										24,
										24
									],
									"outlettype": [
										"int"
									],
									"parameter_enable": 0
								}
							},
							{
								"box": {
									"id": "obj-40",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										600,
										345,
										110.5,
										22
									],
									"text": "param bypass $1"
								}
							},
							{
								"box": {
									"id": "obj-41",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										735,
										345,
										160,
										50
									],
									"text": "bypass: input back, delayed by the same latency"
								}
							},
							{
								"box": {
									"id": "obj-42",
									"maxclass": "newobj",
									"numinlets": 3,
									"numoutlets": 3,
									"outlettype": [
										"",
										"",
										""
									],
									"patching_rect": [
										600,
										495,
										110.5,
										22
									],
									"text": "route ack error"
								}
							},
							{
								"box": {
									"id": "obj-43",
									"maxclass": "newobj",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										720,
										495,
										104.2,
										22
									],
									"text": "print lmdm-ack"
								}
							},
							{
								"box": {
									"id": "obj-44",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"patching_rect": [
										300,
										410,
										105,
										22
									],
									"outlettype": [
										""
									],
									"text": "block_size short"
								}
							},
							{
								"box": {
									"id": "obj-45",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"patching_rect": [
										415,
										410,
										100,
										22
									],
									"outlettype": [
										""
									],
									"text": "block_size long"
								}
							},
							{
								"box": {
									"id": "obj-46",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										410,
										270,
										50
									],
									"text": "block size: short = lower latency, needs a model trained for it (a new hello)"
								}
							}
						],
						"lines": [
							{
								"patchline": {
									"source": [
										"obj-3",
										0
									],
									"destination": [
										"obj-2",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-5",
										0
									],
									"destination": [
										"obj-2",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-7",
										0
									],
									"destination": [
										"obj-2",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-9",
										0
									],
									"destination": [
										"obj-2",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-11",
										0
									],
									"destination": [
										"obj-2",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-13",
										0
									],
									"destination": [
										"obj-2",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-15",
										0
									],
									"destination": [
										"obj-2",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-17",
										0
									],
									"destination": [
										"obj-2",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-19",
										0
									],
									"destination": [
										"obj-2",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-21",
										0
									],
									"destination": [
										"obj-2",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-23",
										0
									],
									"destination": [
										"obj-2",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-25",
										0
									],
									"destination": [
										"obj-2",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-27",
										0
									],
									"destination": [
										"obj-28",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-28",
										0
									],
									"destination": [
										"obj-2",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-30",
										0
									],
									"destination": [
										"obj-31",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-31",
										0
									],
									"destination": [
										"obj-2",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-33",
										0
									],
									"destination": [
										"obj-34",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-34",
										0
									],
									"destination": [
										"obj-2",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-36",
										0
									],
									"destination": [
										"obj-37",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-37",
										0
									],
									"destination": [
										"obj-2",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-39",
										0
									],
									"destination": [
										"obj-40",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-40",
										0
									],
									"destination": [
										"obj-2",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-2",
										2
									],
									"destination": [
										"obj-42",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-42",
										0
									],
									"destination": [
										"obj-43",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-42",
										1
									],
									"destination": [
										"obj-43",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-44",
										0
									],
									"destination": [
										"obj-2",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-45",
										0
									],
									"destination": [
										"obj-2",
										2
									]
								}
							}
						]
					},
					"saved_object_attributes": {
						"globalpatchername": ""
					}
				}
			},
			{
				"box": {
					"id": "obj-3",
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 0,
					"patching_rect": [
						220,
						20,
						66.4,
						22.0
					],
					"text": "p status",
					"patcher": {
						"fileversion": 1,
						"appversion": {
							"major": 9,
							"minor": 0,
							"revision": 5,
							"architecture": "x64",
							"modernui": 1
						},
						"classnamespace": "box",
						"rect": [
							0,
							26,
							900,
							560
						],
						"gridsize": [
							15.0,
							15.0
						],
						"showontab": 1,
						"boxes": [
							{
								"box": {
									"id": "obj-1",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										10,
										860,
										64
									],
									"text": "The right outlet reports `status <key> <value>` when a value changes: connected (0/1), latency (samples, what you hear is your input this much later), block, underruns (answers that came too late: silence, never a repeat), late_frames, worker_underruns, gaps (input holes the worker filled), compute_ms, rtt_ms, dropped, reconnects. Errors also print in the Max console."
								}
							},
							{
								"box": {
									"id": "obj-2",
									"maxclass": "newobj",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										"signal"
									],
									"patching_rect": [
										20,
										105,
										79,
										22
									],
									"text": "cycle~ 220"
								}
							},
							{
								"box": {
									"id": "obj-3",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										80,
										160,
										20.5
									],
									"text": "test input"
								}
							},
							{
								"box": {
									"id": "obj-4",
									"maxclass": "newobj",
									"numinlets": 3,
									"numoutlets": 3,
									"outlettype": [
										"",
										"",
										""
									],
									"patching_rect": [
										20,
										160,
										150,
										22
									],
									"text": "lmdm.bridge"
								}
							},
							{
								"box": {
									"id": "obj-5",
									"maxclass": "ezdac~",
									"numinlets": 2,
									"numoutlets": 0,
									"patching_rect": [
										20,
										210,
										45,
										45
									]
								}
							},
							{
								"box": {
									"id": "obj-6",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										75,
										220,
										200,
										35
									],
									"text": "output: the worker's audio, at the sample it stated"
								}
							},
							{
								"box": {
									"id": "obj-7",
									"maxclass": "newobj",
									"numinlets": 2,
									"numoutlets": 2,
									"outlettype": [
										"",
										""
									],
									"patching_rect": [
										300,
										225,
										91.6,
										22
									],
									"text": "route status"
								}
							},
							{
								"box": {
									"id": "obj-8",
									"maxclass": "newobj",
									"numinlets": 11,
									"numoutlets": 11,
									"outlettype": [
										"",
										"",
										"",
										"",
										"",
										"",
										"",
										"",
										"",
										"",
										""
									],
									"patching_rect": [
										240,
										270,
										650,
										22
									],
									"text": "route connected latency block underruns late_frames worker_underruns gaps compute_ms rtt_ms reconnects"
								}
							},
							{
								"box": {
									"id": "obj-9",
									"maxclass": "flonum",
									"numinlets": 1,
									"numoutlets": 2,
									"patching_rect": [
										20,
										330,
										46,
										22
									],
									"outlettype": [
										"",
										"bang"
									],
									"parameter_enable": 0,
									"format": 6
								}
							},
							{
								"box": {
									"id": "obj-10",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										355,
										84,
										35
									],
									"text": "connected"
								}
							},
							{
								"box": {
									"id": "obj-11",
									"maxclass": "flonum",
									"numinlets": 1,
									"numoutlets": 2,
									"patching_rect": [
										106,
										330,
										46,
										22
									],
									"outlettype": [
										"",
										"bang"
									],
									"parameter_enable": 0,
									"format": 6
								}
							},
							{
								"box": {
									"id": "obj-12",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										106,
										355,
										84,
										35
									],
									"text": "latency"
								}
							},
							{
								"box": {
									"id": "obj-13",
									"maxclass": "flonum",
									"numinlets": 1,
									"numoutlets": 2,
									"patching_rect": [
										192,
										330,
										46,
										22
									],
									"outlettype": [
										"",
										"bang"
									],
									"parameter_enable": 0,
									"format": 6
								}
							},
							{
								"box": {
									"id": "obj-14",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										192,
										355,
										84,
										35
									],
									"text": "block"
								}
							},
							{
								"box": {
									"id": "obj-15",
									"maxclass": "flonum",
									"numinlets": 1,
									"numoutlets": 2,
									"patching_rect": [
										278,
										330,
										46,
										22
									],
									"outlettype": [
										"",
										"bang"
									],
									"parameter_enable": 0,
									"format": 6
								}
							},
							{
								"box": {
									"id": "obj-16",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										278,
										355,
										84,
										35
									],
									"text": "underruns"
								}
							},
							{
								"box": {
									"id": "obj-17",
									"maxclass": "flonum",
									"numinlets": 1,
									"numoutlets": 2,
									"patching_rect": [
										364,
										330,
										46,
										22
									],
									"outlettype": [
										"",
										"bang"
									],
									"parameter_enable": 0,
									"format": 6
								}
							},
							{
								"box": {
									"id": "obj-18",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										364,
										355,
										84,
										35
									],
									"text": "late_frames"
								}
							},
							{
								"box": {
									"id": "obj-19",
									"maxclass": "flonum",
									"numinlets": 1,
									"numoutlets": 2,
									"patching_rect": [
										450,
										330,
										46,
										22
									],
									"outlettype": [
										"",
										"bang"
									],
									"parameter_enable": 0,
									"format": 6
								}
							},
							{
								"box": {
									"id": "obj-20",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										450,
										355,
										84,
										35
									],
									"text": "worker_underruns"
								}
							},
							{
								"box": {
									"id": "obj-21",
									"maxclass": "flonum",
									"numinlets": 1,
									"numoutlets": 2,
									"patching_rect": [
										536,
										330,
										46,
										22
									],
									"outlettype": [
										"",
										"bang"
									],
									"parameter_enable": 0,
									"format": 6
								}
							},
							{
								"box": {
									"id": "obj-22",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										536,
										355,
										84,
										35
									],
									"text": "gaps"
								}
							},
							{
								"box": {
									"id": "obj-23",
									"maxclass": "flonum",
									"numinlets": 1,
									"numoutlets": 2,
									"patching_rect": [
										622,
										330,
										46,
										22
									],
									"outlettype": [
										"",
										"bang"
									],
									"parameter_enable": 0,
									"format": 6
								}
							},
							{
								"box": {
									"id": "obj-24",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										622,
										355,
										84,
										35
									],
									"text": "compute_ms"
								}
							},
							{
								"box": {
									"id": "obj-25",
									"maxclass": "flonum",
									"numinlets": 1,
									"numoutlets": 2,
									"patching_rect": [
										708,
										330,
										46,
										22
									],
									"outlettype": [
										"",
										"bang"
									],
									"parameter_enable": 0,
									"format": 6
								}
							},
							{
								"box": {
									"id": "obj-26",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										708,
										355,
										84,
										35
									],
									"text": "rtt_ms"
								}
							},
							{
								"box": {
									"id": "obj-27",
									"maxclass": "flonum",
									"numinlets": 1,
									"numoutlets": 2,
									"patching_rect": [
										794,
										330,
										46,
										22
									],
									"outlettype": [
										"",
										"bang"
									],
									"parameter_enable": 0,
									"format": 6
								}
							},
							{
								"box": {
									"id": "obj-28",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										794,
										355,
										84,
										35
									],
									"text": "reconnects"
								}
							},
							{
								"box": {
									"id": "obj-29",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										200,
										105,
										53.8,
										22
									],
									"text": "status"
								}
							}
						],
						"lines": [
							{
								"patchline": {
									"source": [
										"obj-2",
										0
									],
									"destination": [
										"obj-4",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-2",
										0
									],
									"destination": [
										"obj-4",
										1
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-4",
										0
									],
									"destination": [
										"obj-5",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-4",
										1
									],
									"destination": [
										"obj-5",
										1
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-4",
										2
									],
									"destination": [
										"obj-7",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-7",
										0
									],
									"destination": [
										"obj-8",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-8",
										0
									],
									"destination": [
										"obj-9",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-8",
										1
									],
									"destination": [
										"obj-11",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-8",
										2
									],
									"destination": [
										"obj-13",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-8",
										3
									],
									"destination": [
										"obj-15",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-8",
										4
									],
									"destination": [
										"obj-17",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-8",
										5
									],
									"destination": [
										"obj-19",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-8",
										6
									],
									"destination": [
										"obj-21",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-8",
										7
									],
									"destination": [
										"obj-23",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-8",
										8
									],
									"destination": [
										"obj-25",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-8",
										9
									],
									"destination": [
										"obj-27",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-29",
										0
									],
									"destination": [
										"obj-4",
										2
									]
								}
							}
						]
					},
					"saved_object_attributes": {
						"globalpatchername": ""
					}
				}
			},
			{
				"box": {
					"id": "obj-4",
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 0,
					"patching_rect": [
						320,
						20,
						60.1,
						22.0
					],
					"text": "p setup",
					"patcher": {
						"fileversion": 1,
						"appversion": {
							"major": 9,
							"minor": 0,
							"revision": 5,
							"architecture": "x64",
							"modernui": 1
						},
						"classnamespace": "box",
						"rect": [
							0,
							26,
							900,
							560
						],
						"gridsize": [
							15.0,
							15.0
						],
						"showontab": 1,
						"boxes": [
							{
								"box": {
									"id": "obj-1",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										10,
										500,
										25.6
									],
									"text": "Setup and troubleshooting (more in docs/max.md)",
									"fontsize": 16
								}
							},
							{
								"box": {
									"id": "obj-2",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										50,
										560,
										49.5
									],
									"text": "No sound, console says `Cannot find module 'zeromq'`: the npm packages are missing. Click below once (needs the internet), or run `npm ci` in the package's javascript folder."
								}
							},
							{
								"box": {
									"id": "obj-3",
									"maxclass": "newobj",
									"numinlets": 3,
									"numoutlets": 3,
									"outlettype": [
										"",
										"",
										""
									],
									"patching_rect": [
										20,
										200,
										150,
										22
									],
									"text": "lmdm.bridge"
								}
							},
							{
								"box": {
									"id": "obj-4",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										20,
										105,
										129.4,
										22
									],
									"text": "script npm install"
								}
							},
							{
								"box": {
									"id": "obj-5",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										250,
										560,
										49.5
									],
									"text": "`status connected 0` and `reconnecting ... no welcome`: the worker is not running or listens elsewhere; start it with `lmdm serve` and check the port. The bridge keeps trying and says hello again when the worker restarts."
								}
							},
							{
								"box": {
									"id": "obj-6",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										20,
										310,
										560,
										49.5
									],
									"text": "`the worker takes sample rates ...`: set Max's audio to 44100 or 48000 Hz.\n`underruns` rising: the worker is slower than real time; use a smaller model, a GPU, or raise `lookahead` (frames)."
								}
							},
							{
								"box": {
									"id": "obj-7",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										300,
										105,
										104.2,
										22
									],
									"text": "lookahead 8192"
								}
							},
							{
								"box": {
									"id": "obj-8",
									"maxclass": "comment",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										600,
										50,
										280,
										95
									],
									"text": "The bridge can start its worker: spawn starts lmdm serve on this machine, spawncmd <words...> sets the command the next start runs (Pd: [lmdm~ -spawn] on creation, docs/pd.md)."
								}
							},
							{
								"box": {
									"id": "obj-9",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										600,
										155,
										45,
										22
									],
									"text": "spawn"
								}
							},
							{
								"box": {
									"id": "obj-10",
									"maxclass": "message",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										660,
										155,
										135,
										22
									],
									"text": "spawncmd lmdm serve"
								}
							}
						],
						"lines": [
							{
								"patchline": {
									"source": [
										"obj-4",
										0
									],
									"destination": [
										"obj-3",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-7",
										0
									],
									"destination": [
										"obj-3",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-9",
										0
									],
									"destination": [
										"obj-3",
										2
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-10",
										0
									],
									"destination": [
										"obj-3",
										2
									]
								}
							}
						]
					},
					"saved_object_attributes": {
						"globalpatchername": ""
					}
				}
			}
		],
		"lines": []
	}
}
