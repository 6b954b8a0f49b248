# A Pd GUI plugin for the layout test (tests/pd/test_pd_layout.py): once every open patch window has been drawn, it
# writes each canvas item's bounding box as the real Tk canvas measured it, the window's size and the font in use to
# the file $LMDM_LAYOUT_OUT, optionally grabs each window to $LMDM_LAYOUT_SHOTS/<patch>.png, then quits Pd.
# Inert unless LMDM_LAYOUT_OUT is set, so it is harmless on a search path.
#
# Output, one tab-separated record a line:
#   font    <family> <size> <weight>                    (the patch font as Tk resolved it)
#   window  <toplevel> <patch file> <canvas width> <canvas height> <x scrollbar shown> <y scrollbar shown>
#   item    <toplevel> <canvas id> <type> <x1> <y1> <x2> <y2> <tags> <text, newlines as \n | a line's coordinates>

namespace eval ::lmdm_layout {
    variable polls 0
    variable last ""
    variable same 0
}

proc ::lmdm_layout::patch_windows {} {
    set out {}
    foreach w [winfo children .] {
        if {[winfo class $w] eq "PatchWindow" && [winfo exists $w.c]} {lappend out $w}
    }
    return $out
}

# The number of drawn items over all patch windows, or -1 while a window is still loading.
proc ::lmdm_layout::drawn {} {
    set n 0
    set windows [patch_windows]
    if {[llength $windows] == 0} {return -1}
    foreach w $windows {
        if {![info exists ::loaded($w)] || $::loaded($w) != 1} {return -1}
        incr n [llength [$w.c find all]]
    }
    return $n
}

proc ::lmdm_layout::clean {s} {
    return [string map [list "\n" "\\n" "\t" " "] $s]
}

proc ::lmdm_layout::dump {path} {
    set f [open $path w]
    fconfigure $f -encoding utf-8
    foreach w [patch_windows] {
        set c $w.c
        # the patch's own font: the one its text items carry
        set font ""
        foreach id [$c find all] {
            if {[$c type $id] eq "text"} {set font [$c itemcget $id -font]; break}
        }
        if {$font ne ""} {
            puts $f [join [list font [font actual $font -family] [font actual $font -size] \
                               [font actual $font -weight]] "\t"]
        }
        set title [lindex [split [wm title $w] " "] 0]
        puts $f [join [list window $w $title [winfo width $c] [winfo height $c] \
                           [winfo ismapped $w.xscroll] [winfo ismapped $w.yscroll]] "\t"]
        foreach id [$c find all] {
            set type [$c type $id]
            set text ""
            if {$type eq "text"} {set text [clean [$c itemcget $id -text]]}
            if {$type eq "line"} {set text [$c coords $id]}
            set box [$c bbox $id]
            if {[llength $box] != 4} {continue}
            # canvas coordinates of what shows at the window's top left, in case it is scrolled
            set x0 [$c canvasx 0]
            set y0 [$c canvasy 0]
            foreach {x1 y1 x2 y2} $box break
            puts $f [join [list item $w $id $type [expr {$x1 - $x0}] [expr {$y1 - $y0}] [expr {$x2 - $x0}] \
                               [expr {$y2 - $y0}] [$c gettags $id] $text] "\t"]
        }
    }
    close $f
}

proc ::lmdm_layout::shoot {dir} {
    foreach w [patch_windows] {
        set name [file rootname [lindex [split [wm title $w] " "] 0]]
        raise $w
        update
        exec import -window [winfo id $w] [file join $dir $name.png]
    }
}

# Poll until the drawing has stood still for three polls (Pd draws a patch in several passes), then dump and quit.
proc ::lmdm_layout::poll {} {
    variable polls
    variable last
    variable same
    incr polls
    set n [drawn]
    if {$n > 0 && $n == $last} {incr same} else {set same 0}
    set last $n
    if {$same >= 3 || $polls > 100} {
        update idletasks
        if {[catch {
            ::lmdm_layout::dump $::env(LMDM_LAYOUT_OUT)
            if {[info exists ::env(LMDM_LAYOUT_SHOTS)]} {::lmdm_layout::shoot $::env(LMDM_LAYOUT_SHOTS)}
        } err]} {
            set f [open $::env(LMDM_LAYOUT_OUT).error w]
            puts $f $err
            close $f
        }
        pdsend "pd quit"
        return
    }
    after 200 ::lmdm_layout::poll
}

if {[info exists ::env(LMDM_LAYOUT_OUT)]} {
    after 500 ::lmdm_layout::poll
}
