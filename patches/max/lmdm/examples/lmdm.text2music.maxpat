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
			900,
			480
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
						800,
						26
					],
					"text": "Text to music: no input needed; pick a prompt, the model plays it.",
					"fontsize": 16,
					"presentation": 1,
					"presentation_rect": [
						20,
						10,
						800,
						26
					]
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
					"id": "obj-3",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						20,
						270,
						129.4,
						22
					],
					"text": "loadmess mode text"
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
						115,
						198.7,
						22
					],
					"text": "param prompt soft ambient piano",
					"presentation": 1,
					"presentation_rect": [
						20,
						115,
						198.7,
						22
					]
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
						20,
						145,
						262,
						22
					],
					"text": "param prompt driving techno beat 128 bpm",
					"presentation": 1,
					"presentation_rect": [
						20,
						145,
						262,
						22
					]
				}
			},
			{
				"box": {
					"id": "obj-6",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						20,
						175,
						198.7,
						22
					],
					"text": "param prompt slow dark cello",
					"presentation": 1,
					"presentation_rect": [
						20,
						175,
						198.7,
						22
					]
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
						320,
						115,
						198.7,
						22
					],
					"text": "param prompt_b string quartet",
					"presentation": 1,
					"presentation_rect": [
						320,
						115,
						198.7,
						22
					]
				}
			},
			{
				"box": {
					"id": "obj-8",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						320,
						150,
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
						320,
						150,
						60,
						22
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
						320,
						175,
						104.2,
						22
					],
					"text": "param blend $1",
					"presentation": 1,
					"presentation_rect": [
						390,
						150,
						104.2,
						22
					]
				}
			},
			{
				"box": {
					"id": "obj-10",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						320,
						90,
						220,
						20.5
					],
					"text": "blend 0 = prompt, 1 = prompt_b",
					"linecount": 2,
					"presentation": 1,
					"presentation_rect": [
						320,
						90,
						220,
						20.5
					]
				}
			},
			{
				"box": {
					"id": "obj-11",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						580,
						130,
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
						580,
						130,
						60,
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
						580,
						155,
						91.6,
						22
					],
					"text": "param cfg $1",
					"presentation": 1,
					"presentation_rect": [
						650,
						130,
						91.6,
						22
					]
				}
			},
			{
				"box": {
					"id": "obj-13",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						580,
						90,
						220,
						35
					],
					"text": "guidance: higher follows the prompt more",
					"linecount": 2,
					"presentation": 1,
					"presentation_rect": [
						580,
						90,
						220,
						35
					]
				}
			},
			{
				"box": {
					"id": "obj-14",
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
						20,
						230,
						45,
						45
					]
				}
			},
			{
				"box": {
					"id": "obj-15",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 3,
					"outlettype": [
						"",
						"",
						""
					],
					"patching_rect": [
						320,
						380,
						110.5,
						22
					],
					"text": "route ack error"
				}
			},
			{
				"box": {
					"id": "obj-16",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						320,
						415,
						79,
						22
					],
					"text": "print lmdm"
				}
			},
			{
				"box": {
					"id": "obj-17",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						420,
						415,
						250,
						35
					],
					"text": "the ack for a prompt lists what the worker applied",
					"linecount": 2
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
						42,
						800,
						35
					],
					"text": "You hear music made from the prompt alone: soft ambient piano, a driving techno beat or a slow dark cello; blend moves it toward prompt_b, cfg how closely it follows.",
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
						20,
						90,
						200,
						20.5
					],
					"text": "prompt (pick one)",
					"presentation": 1,
					"presentation_rect": [
						20,
						90,
						200,
						20.5
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
						"obj-2",
						2
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
						"obj-6",
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
						"obj-12",
						0
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
						"obj-2",
						2
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
						"obj-14",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-2",
						1
					],
					"destination": [
						"obj-14",
						1
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
						"obj-15",
						1
					],
					"destination": [
						"obj-16",
						0
					]
				}
			}
		],
		"openinpresentation": 1
	}
}
