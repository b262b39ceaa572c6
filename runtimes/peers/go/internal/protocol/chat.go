package protocol

import "strconv"

// MaxGroupNameBytes bounds a group name; MaxGroupsPerConnection bounds a connection's memberships (a JOIN past it
// gets ERR), so that its memory is bounded too.
const (
	MaxGroupNameBytes      = 64
	MaxGroupsPerConnection = 64
)

// ChatVerb is the command of one chat line.
type ChatVerb int

// The chat commands; Invalid carries a reason.
const (
	Join ChatVerb = iota
	Leave
	Msg
	Invalid
)

// The ERR reasons, fixed strings so that no client bytes are ever reflected.
const (
	ErrUnknownCommand = "unknown command"
	ErrBadGroup       = "bad group name"
	ErrMissingPayload = "MSG needs a group, a space and a payload"
	ErrNotAMember     = "not a member"
	ErrTooManyGroups  = "too many groups"
)

// ChatCommand is one parsed client line. Group is a slice of the line.
type ChatCommand struct {
	Verb   ChatVerb
	Group  []byte
	Reason string
}

func isGroupChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '_' || c == '-'
}

// IsValidGroup: [A-Za-z0-9_-]{1,64}.
func IsValidGroup(g []byte) bool {
	if len(g) == 0 || len(g) > MaxGroupNameBytes {
		return false
	}
	for _, c := range g {
		if !isGroupChar(c) {
			return false
		}
	}
	return true
}

func withGroup(v ChatVerb, g []byte) ChatCommand {
	if !IsValidGroup(g) {
		return ChatCommand{Verb: Invalid, Reason: ErrBadGroup}
	}
	return ChatCommand{Verb: v, Group: g}
}

// ParseChatLine parses one client line without its '\n'. For MSG the whole line is what gets delivered.
func ParseChatLine(line []byte) ChatCommand {
	space := indexByte(line, ' ')
	if space < 0 {
		return ChatCommand{Verb: Invalid, Reason: ErrUnknownCommand}
	}
	verb, rest := string(line[:space]), line[space+1:]
	switch verb {
	case "JOIN":
		return withGroup(Join, rest)
	case "LEAVE":
		return withGroup(Leave, rest)
	case "MSG":
		payloadSpace := indexByte(rest, ' ')
		if payloadSpace < 0 {
			return ChatCommand{Verb: Invalid, Reason: ErrMissingPayload}
		}
		return withGroup(Msg, rest[:payloadSpace])
	}
	return ChatCommand{Verb: Invalid, Reason: ErrUnknownCommand}
}

func indexByte(s []byte, c byte) int {
	for i, x := range s {
		if x == c {
			return i
		}
	}
	return -1
}

// AppendJoined, AppendLeft, AppendError, AppendDropped and AppendMessage each append one complete line.
func AppendJoined(out []byte, group string) []byte {
	return append(append(append(out, "JOINED "...), group...), '\n')
}

// AppendLeft appends `LEFT <group>\n`.
func AppendLeft(out []byte, group string) []byte {
	return append(append(append(out, "LEFT "...), group...), '\n')
}

// AppendError appends `ERR <reason>\n`.
func AppendError(out []byte, reason string) []byte {
	return append(append(append(out, "ERR "...), reason...), '\n')
}

// AppendDropped appends `DROPPED <n>\n`.
func AppendDropped(out []byte, n uint64) []byte {
	return append(strconv.AppendUint(append(out, "DROPPED "...), n, 10), '\n')
}

// AppendMessage appends a MSG line unchanged, with its '\n'.
func AppendMessage(out []byte, msgLine []byte) []byte { return append(append(out, msgLine...), '\n') }
