package protocol

import "strings"

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func pick(get bool, a, b []byte) []byte {
	if get {
		return a
	}
	return b
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func isToken(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	for _, c := range s {
		if !isTokenChar(c) {
			return false
		}
	}
	return true
}

func trimSpaceTab(s []byte) []byte {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// equalFold is an ASCII case fold, as in the C++ iequals: callers compare against letters and '-'.
func equalFold(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i]|0x20 != b[i]|0x20 {
			return false
		}
	}
	return true
}

// hasToken reports whether the comma-separated list value contains token (case-insensitive).
func hasToken(value []byte, token string) bool {
	for len(value) > 0 {
		item := value
		comma := -1
		for i, c := range value {
			if c == ',' {
				comma = i
				break
			}
		}
		if comma >= 0 {
			item = value[:comma]
		}
		if equalFold(trimSpaceTab(item), token) {
			return true
		}
		if comma < 0 {
			break
		}
		value = value[comma+1:]
	}
	return false
}

// parseDecimal accepts what std::from_chars into size_t accepts when it must consume the whole value: one or more
// decimal digits, no sign, no overflow.
func parseDecimal(s []byte) (uint64, bool) {
	if len(s) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range s {
		if !isDigit(c) {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (^uint64(0)-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}
