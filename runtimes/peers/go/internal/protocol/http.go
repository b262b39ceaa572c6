package protocol

import (
	"bytes"
	"strconv"
)

// HTTPMaxBodyBytes is the largest request body (announced with Content-Length) the server reads and discards.
const HTTPMaxBodyBytes = 1 << 20

// HTTPReplies holds every reply the server can send, built once per server so that answering is one append.
type HTTPReplies struct {
	maxHeaderBytes, maxHeaderFields                      int
	ok, okKeepAlive, okClose                             []byte
	headOK, headOKKeepAlive, headOKClose                 []byte
	badRequest, headerTooLarge, methodNotAllowed         []byte
	notImplemented, versionNotSupported, payloadTooLarge []byte
}

// NewHTTPReplies builds the replies for the given limits (body size, header limits).
func NewHTTPReplies(limits Limits) *HTTPReplies {
	body := makeBody(limits.HTTPBodyBytes)
	return &HTTPReplies{
		maxHeaderBytes:      limits.MaxHeaderBytes,
		maxHeaderFields:     limits.MaxHeaderFields,
		ok:                  reply200(body, "", false),
		okKeepAlive:         reply200(body, "keep-alive", false),
		okClose:             reply200(body, "close", false),
		headOK:              reply200(body, "", true),
		headOKKeepAlive:     reply200(body, "keep-alive", true),
		headOKClose:         reply200(body, "close", true),
		badRequest:          replyError("400 Bad Request", ""),
		headerTooLarge:      replyError("431 Request Header Fields Too Large", ""),
		methodNotAllowed:    replyError("405 Method Not Allowed", "Allow: GET, HEAD\r\n"),
		notImplemented:      replyError("501 Not Implemented", ""),
		versionNotSupported: replyError("505 HTTP Version Not Supported", ""),
		payloadTooLarge:     replyError("413 Content Too Large", ""),
	}
}

func makeBody(n int) []byte {
	const p = "Hello, World!"
	body := make([]byte, 0, n)
	for len(body) < n {
		body = append(body, p[:min(len(p), n-len(body))]...)
	}
	return body
}

func reply200(body []byte, connection string, head bool) []byte {
	r := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n")
	if connection != "" {
		r = append(r, "Connection: "+connection+"\r\n"...)
	}
	r = append(r, "\r\n"...)
	if !head {
		r = append(r, body...)
	}
	return r
}

func replyError(status, extraHeader string) []byte {
	return []byte("HTTP/1.1 " + status + "\r\nContent-Length: 0\r\nConnection: close\r\n" + extraHeader + "\r\n")
}

// HTTPSession is HTTP/1.1 keep-alive, server side: GET and HEAD answered with the fixed 200, pipelined requests in
// order; the same verdicts as the C++ HttpSession (400, 405, 413, 431, 501, 505, Connection: close).
type HTTPSession struct {
	r           *HTTPReplies // shared, immutable
	partial     []byte       // an unfinished header section; nil between requests
	bodyToSkip  int          // bytes of a request body still to discard
	closeReason string
}

// NewHTTPSession returns a session answering with the shared replies.
func NewHTTPSession(r *HTTPReplies) *HTTPSession { return &HTTPSession{r: r} }

// CloseReason implements Session.
func (s *HTTPSession) CloseReason() string { return s.closeReason }

// HasPartial implements Session.
func (s *HTTPSession) HasPartial() bool { return len(s.partial) > 0 || s.bodyToSkip > 0 }

type step int

const (
	needMore step = iota
	next
	closeConn
)

// Consume implements Session.
func (s *HTTPSession) Consume(in []byte, out *Reply) Verdict {
	if len(s.partial) == 0 {
		rest, v := s.parseAll(in, out)
		if v == Close {
			return Close
		}
		if len(rest) > 0 {
			s.partial = append([]byte(nil), rest...)
		}
		return KeepOpen
	}
	s.partial = append(s.partial, in...)
	rest, v := s.parseAll(s.partial, out)
	if v == Close {
		return Close
	}
	if len(rest) == 0 {
		s.partial = nil
	} else {
		s.partial = append(s.partial[:0], rest...)
	}
	return KeepOpen
}

func (s *HTTPSession) parseAll(in []byte, out *Reply) ([]byte, Verdict) {
	for len(in) > 0 {
		if s.bodyToSkip > 0 {
			skip := min(s.bodyToSkip, len(in))
			s.bodyToSkip -= skip
			in = in[skip:]
			continue
		}
		var st step
		in, st = s.parseOne(in, out)
		switch st {
		case needMore:
			return in, KeepOpen
		case closeConn:
			return nil, Close
		}
	}
	return in, KeepOpen
}

func (s *HTTPSession) fail(reply []byte, reason string, out *Reply) ([]byte, step) {
	s.closeReason = reason
	out.Share(reply)
	return nil, closeConn
}

func stripCR(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		return line[:n-1]
	}
	return line
}

// parseOne parses one request from the front of in. On next it has answered it and returns in past it.
func (s *HTTPSession) parseOne(in []byte, out *Reply) ([]byte, step) {
	r := s.r
	// Find the blank line that ends the header section, counting lines as we go (LF or CRLF line ends).
	lineStart, lines, requestLineStart, headerEnd := 0, 0, 0, -1
	for {
		limit := min(len(in), r.maxHeaderBytes+2)
		if lineStart >= limit {
			break
		}
		nl := bytes.IndexByte(in[lineStart:limit], '\n')
		if nl < 0 {
			break
		}
		pos := lineStart + nl
		line := stripCR(in[lineStart:pos])
		thisLineStart := lineStart
		lineStart = pos + 1
		if len(line) == 0 {
			if lines == 0 {
				continue // RFC 9112 2.2: ignore empty lines before the request line
			}
			headerEnd = lineStart
			break
		}
		if lines == 0 {
			requestLineStart = thisLineStart
		}
		lines++
		if lines > r.maxHeaderFields+1 {
			return s.fail(r.headerTooLarge, "http: too many header fields", out)
		}
	}
	if headerEnd < 0 {
		// The section may take maxHeaderBytes plus its final CRLF; deciding earlier would make the verdict depend on
		// where TCP cut the stream.
		if len(in) >= r.maxHeaderBytes+2 {
			return s.fail(r.headerTooLarge, "http: header section too large", out)
		}
		return in, needMore
	}
	if headerEnd > r.maxHeaderBytes+2 {
		return s.fail(r.headerTooLarge, "http: header section too large", out)
	}

	// Request line: METHOD SP target SP HTTP/1.x, found by position (it may itself start with a stray CR).
	head := in[requestLineStart:headerEnd]
	eol := bytes.IndexByte(head, '\n')
	requestLine := stripCR(head[:eol])
	head = head[eol+1:]
	sp1 := bytes.IndexByte(requestLine, ' ')
	sp2 := -1
	if sp1 >= 0 {
		if i := bytes.IndexByte(requestLine[sp1+1:], ' '); i >= 0 {
			sp2 = sp1 + 1 + i
		}
	}
	if sp2 < 0 || bytes.IndexByte(requestLine[sp2+1:], ' ') >= 0 {
		return s.fail(r.badRequest, "http: malformed request line", out)
	}
	method, target, version := requestLine[:sp1], requestLine[sp1+1:sp2], requestLine[sp2+1:]
	if !isToken(method) || len(target) == 0 {
		return s.fail(r.badRequest, "http: malformed request line", out)
	}
	if len(version) != 8 || string(version[:5]) != "HTTP/" || version[6] != '.' || !isDigit(version[5]) ||
		!isDigit(version[7]) {
		return s.fail(r.badRequest, "http: malformed version", out)
	}
	if version[5] != '1' {
		return s.fail(r.versionNotSupported, "http: unsupported version", out)
	}
	http10 := version[7] == '0'
	keepAlive := !http10 // HTTP/1.1 defaults to keep-alive, HTTP/1.0 to close
	askedKeepAlive := false
	var contentLength uint64
	seenContentLength := false

	for len(head) > 0 {
		nl := bytes.IndexByte(head, '\n')
		field := stripCR(head[:nl])
		head = head[nl+1:]
		if len(field) == 0 {
			break
		}
		colon := bytes.IndexByte(field, ':')
		if colon < 0 || !isToken(field[:colon]) {
			return s.fail(r.badRequest, "http: malformed header field", out)
		}
		name, value := field[:colon], trimSpaceTab(field[colon+1:])
		switch {
		case equalFold(name, "connection"):
			if hasToken(value, "close") {
				keepAlive = false
			}
			if hasToken(value, "keep-alive") {
				askedKeepAlive = true
			}
		case equalFold(name, "content-length"):
			n, ok := parseDecimal(value)
			if !ok || (seenContentLength && n != contentLength) {
				return s.fail(r.badRequest, "http: bad Content-Length", out)
			}
			contentLength, seenContentLength = n, true
		case equalFold(name, "transfer-encoding"):
			return s.fail(r.notImplemented, "http: Transfer-Encoding not supported", out)
		}
	}
	if http10 && askedKeepAlive {
		keepAlive = true
	}

	isGet := string(method) == "GET"
	if !isGet && string(method) != "HEAD" {
		return s.fail(r.methodNotAllowed, "http: method not allowed", out)
	}
	if contentLength > HTTPMaxBodyBytes {
		return s.fail(r.payloadTooLarge, "http: request body too large", out)
	}
	switch {
	case !keepAlive:
		out.Share(pick(isGet, r.okClose, r.headOKClose))
	case http10:
		out.Share(pick(isGet, r.okKeepAlive, r.headOKKeepAlive))
	default:
		out.Share(pick(isGet, r.ok, r.headOK))
	}
	s.bodyToSkip = int(contentLength) // at most HTTPMaxBodyBytes here
	if !keepAlive {
		s.closeReason = ""
		return nil, closeConn
	}
	return in[headerEnd:], next
}
