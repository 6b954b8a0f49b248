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
			80,
			80,
			1000,
			540
		],
		"gridsize": [
			15.0,
			15.0
		],
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
						940,
						26
					],
					"text": "Sketch: hum, sing or play; the model follows your pitch, loudness and brightness in the prompt's timbre.",
					"fontsize": 16,
					"presentation": 1,
					"presentation_rect": [
						20,
						10,
						940,
						26
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
						42,
						800,
						35
					],
					"text": "Start the worker first:  lmdm serve  (a model with a curves input; the embedded one has it)",
					"linecount": 2
				}
			},
			{
				"box": {
					"id": "obj-3",
					"maxclass": "ezadc~",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						20,
						155,
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
						100,
						45,
						45
					]
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
						130,
						160,
						20.5
					],
					"text": "input (audio in)",
					"presentation": 1,
					"presentation_rect": [
						20,
						150,
						160,
						20.5
					]
				}
			},
			{
				"box": {
					"id": "obj-5",
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
						330,
						150,
						22
					],
					"text": "lmdm.bridge"
				}
			},
			{
				"box": {
					"id": "obj-6",
					"maxclass": "ezdac~",
					"numinlets": 2,
					"numoutlets": 0,
					"patching_rect": [
						20,
						380,
						45,
						45
					],
					"presentation": 1,
					"presentation_rect": [
						200,
						100,
						45,
						45
					]
				}
			},
			{
				"box": {
					"id": "obj-7",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						75,
						390,
						200,
						35
					],
					"text": "output: the worker's audio, at the sample it stated",
					"linecount": 2,
					"presentation": 1,
					"presentation_rect": [
						255,
						105,
						200,
						35
					]
				}
			},
			{
				"box": {
					"id": "obj-8",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						20,
						270,
						135.7,
						22
					],
					"text": "loadmess mode sketch"
				}
			},
			{
				"box": {
					"id": "obj-12",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						220,
						160,
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
						20,
						215,
						60,
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
						185,
						91.6,
						22
					],
					"text": "param mix $1",
					"presentation": 1,
					"presentation_rect": [
						90,
						215,
						91.6,
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
						220,
						130,
						160,
						20.5
					],
					"text": "mix: 0 dry .. 1 wet",
					"presentation": 1,
					"presentation_rect": [
						20,
						190,
						160,
						20.5
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
						380,
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
						415,
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
						455,
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
						330,
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
						480,
						90,
						20.5
					],
					"text": "connected",
					"presentation": 1,
					"presentation_rect": [
						20,
						355,
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
						455,
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
						330,
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
						480,
						90,
						20.5
					],
					"text": "latency",
					"presentation": 1,
					"presentation_rect": [
						115,
						355,
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
						455,
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
						330,
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
						480,
						90,
						20.5
					],
					"text": "underruns",
					"presentation": 1,
					"presentation_rect": [
						210,
						355,
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
						455,
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
						330,
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
						480,
						90,
						20.5
					],
					"text": "rtt ms",
					"presentation": 1,
					"presentation_rect": [
						305,
						355,
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
						415,
						79,
						22
					],
					"text": "print lmdm"
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
						400,
						160,
						250,
						22
					],
					"text": "param curves pitch loudness brightness",
					"presentation": 1,
					"presentation_rect": [
						220,
						215,
						250,
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
						400,
						188,
						140,
						22
					],
					"text": "param curves loudness",
					"presentation": 1,
					"presentation_rect": [
						220,
						243,
						140,
						22
					]
				}
			},
			{
				"box": {
					"id": "obj-11",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						400,
						130,
						220,
						20.5
					],
					"text": "the curves the output follows",
					"presentation": 1,
					"presentation_rect": [
						220,
						190,
						220,
						20.5
					]
				}
			},
			{
				"box": {
					"id": "obj-26",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						680,
						160,
						150,
						22
					],
					"text": "param prompt cello",
					"presentation": 1,
					"presentation_rect": [
						500,
						215,
						150,
						22
					]
				}
			},
			{
				"box": {
					"id": "obj-27",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						680,
						188,
						210,
						22
					],
					"text": "param prompt warm synth lead",
					"presentation": 1,
					"presentation_rect": [
						500,
						243,
						210,
						22
					]
				}
			},
			{
				"box": {
					"id": "obj-40",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20,
						80,
						800,
						35
					],
					"text": "You hear your voice or instrument sung again one latency later: your pitch, loudness and brightness in the prompt's timbre (a cello, a warm synth lead, a choir).",
					"presentation": 1,
					"presentation_rect": [
						20,
						42,
						800,
						35
					]
				}
			},
			{
				"box": {
					"id": "obj-41",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						680,
						130,
						220,
						20.5
					],
					"text": "prompt: the timbre it sings in",
					"presentation": 1,
					"presentation_rect": [
						500,
						190,
						220,
						20.5
					]
				}
			},
			{
				"box": {
					"id": "obj-42",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						680,
						216,
						140,
						22
					],
					"text": "param prompt choir",
					"presentation": 1,
					"presentation_rect": [
						500,
						271,
						140,
						22
					]
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
						"obj-5",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-3",
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
						"obj-5",
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
						"obj-5",
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
						"obj-8",
						0
					],
					"destination": [
						"obj-5",
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
						"obj-13",
						0
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
						"obj-5",
						2
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-5",
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
			},
			{
				"patchline": {
					"source": [
						"obj-9",
						0
					],
					"destination": [
						"obj-5",
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
						"obj-5",
						2
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-26",
						0
					],
					"destination": [
						"obj-5",
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
						"obj-5",
						2
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
						"obj-5",
						2
					]
				}
			}
		],
		"openinpresentation": 1
	}
}
