# SPDX-License-Identifier: GPL-2.0-only
#
# Print the literal block that follows ".. compiled-example: NAME" in an
# .rst file, unindented, as C: the marker is an RST comment (invisible in
# the rendered page), the paragraph after it ends in "::", and the block
# is everything indented after that.  A #line directive first, so that the
# compiler's messages name the document's own lines.
#
#   awk -v name=NAME -v src=PATH -f doc-example.awk FILE.rst >NAME.c
#
# Exits 1 with a message when the marker or its block is missing.

function fail(msg)
{
	printf "%s: %s\n", src, msg >"/dev/stderr"
	bad = 1
	exit 1
}

BEGIN { state = "marker" }

state == "marker" {
	if ($0 ~ ("^\\.\\. compiled-example: " name "([ \t]|$)"))
		state = "colons"
	next
}

# Past the marker's own indented lines, the paragraph that ends in "::".
state == "colons" {
	if ($0 ~ /^[ \t]*$/ && para)
		fail("line " NR ": no \"::\" literal block after the compiled-example: " name " marker")
	if ($0 ~ /^[ \t]*$/ || (!para && $0 ~ /^[ \t]/))
		next
	para = 1
	if ($0 ~ /::[ \t]*$/)
		state = "start"
	next
}

state == "start" {
	if ($0 ~ /^[ \t]*$/)
		next
	match($0, /^[ ]+/)
	if (RLENGTH <= 0)
		fail("line " NR ": the literal block of " name " is empty")
	indent = RLENGTH
	printf "#line %d \"%s\"\n", NR, src
	state = "block"
}

state == "block" {
	if ($0 ~ /^[ \t]*$/) {
		print ""
		next
	}
	if (substr($0, 1, indent) !~ /^ +$/)
		exit 0
	print substr($0, indent + 1)
	lines++
}

END {
	if (bad)
		exit 1
	if (state == "marker")
		fail("no \".. compiled-example: " name "\" marker")
	if (!lines)
		fail("the literal block of " name " is empty")
}
