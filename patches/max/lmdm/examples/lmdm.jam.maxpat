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
			1120,
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
						800,
						26
					],
					"text": "Jam: the model accompanies what you play, on your bar grid.",
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
					"id": "obj-3",
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
						330,
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
					"id": "obj-6",
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
					"id": "obj-7",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						20,
						270,
						130,
						22
					],
					"text": "loadmess mode jam"
				}
			},
			{
				"box": {
					"id": "obj-8",
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						220,
						180,
						50,
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
						215,
						50,
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
						220,
						205,
						91.6,
						22
					],
					"text": "param bpm $1",
					"presentation": 1,
					"presentation_rect": [
						80,
						215,
						91.6,
						22
					]
				}
			},
			{
				"box": {
					"id": "obj-10",
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						340,
						180,
						50,
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
						245,
						50,
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
						340,
						205,
						104.2,
						22
					],
					"text": "param beats $1",
					"presentation": 1,
					"presentation_rect": [
						80,
						245,
						104.2,
						22
					]
				}
			},
			{
				"box": {
					"id": "obj-12",
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						480,
						185,
						24,
						24
					],
					"outlettype": [
						"bang"
					],
					"presentation": 1,
					"presentation_rect": [
						220,
						245,
						24,
						24
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
						480,
						215,
						66.4,
						22
					],
					"text": "downbeat",
					"presentation": 1,
					"presentation_rect": [
						250,
						245,
						66.4,
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
						480,
						130,
						300,
						50
					],
					"text": "click on a downbeat: the bridge sends the clock position of that bar start (`param bar`), so the worker knows the whole grid",
					"linecount": 3,
					"presentation": 1,
					"presentation_rect": [
						220,
						190,
						300,
						50
					]
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
						640,
						250,
						252,
						22
					],
					"text": "param prompt groovy electric bass drums",
					"presentation": 1,
					"presentation_rect": [
						540,
						190,
						252,
						22
					]
				}
			},
			{
				"box": {
					"id": "obj-16",
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
					"id": "obj-17",
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
					"id": "obj-18",
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
					"id": "obj-19",
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
					"id": "obj-20",
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
					"id": "obj-21",
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
					"id": "obj-22",
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
					"id": "obj-23",
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
					"id": "obj-24",
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
					"id": "obj-25",
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
					"id": "obj-26",
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
					"id": "obj-27",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						840,
						130,
						250,
						50
					],
					"text": "block size: short = lower latency, needs a model trained for it (a new hello)",
					"presentation": 1,
					"presentation_rect": [
						540,
						225,
						250,
						50
					]
				}
			},
			{
				"box": {
					"id": "obj-28",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						840,
						185,
						105,
						22
					],
					"outlettype": [
						""
					],
					"text": "block_size short",
					"presentation": 1,
					"presentation_rect": [
						540,
						280,
						105,
						22
					]
				}
			},
			{
				"box": {
					"id": "obj-29",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						840,
						210,
						100,
						22
					],
					"outlettype": [
						""
					],
					"text": "block_size long",
					"presentation": 1,
					"presentation_rect": [
						655,
						280,
						100,
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
						42,
						800,
						35
					],
					"text": "You hear what you play with the model's accompaniment on your bar grid, in the prompt's style: a groovy electric bass with drums.",
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
						220,
						155,
						220,
						20.5
					],
					"text": "tempo (bpm) and beats per bar",
					"presentation": 1,
					"presentation_rect": [
						20,
						190,
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
						1
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
						"obj-7",
						0
					],
					"destination": [
						"obj-4",
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
						"obj-4",
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
						"obj-11",
						0
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
						"obj-4",
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
						"obj-4",
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
						"obj-4",
						2
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
						"obj-17",
						0
					],
					"destination": [
						"obj-18",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-17",
						1
					],
					"destination": [
						"obj-20",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-17",
						2
					],
					"destination": [
						"obj-22",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-17",
						3
					],
					"destination": [
						"obj-24",
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
						"obj-26",
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
						"obj-26",
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
						"obj-4",
						2
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
		],
		"openinpresentation": 1
	}
}
