// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

// Host tests: no module needed.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
)

func TestLayoutMatchesHeader(t *testing.T) {
	want := map[string]int{
		"sockaddr_fastrpc": sizeSockaddr, "fastrpc_call": sizeCall,
		"fastrpc_result": sizeResult, "fastrpc_incoming": sizeIncoming,
		"fastrpc_reply": sizeReply, "fastrpc_send": sizeSend,
		"fastrpc_meta_entry": sizeMetaHdr, "fastrpc_features": sizeFeatures,
		"SOL_FASTRPC": solFastRPC, "MAX_METADATA": MaxMetadata,
		"MAX_STATUS_MSG": MaxStatusMessage, "MAX_MSG": MaxMessage,
		"CALL_STREAM": callStream, "IN_CONT": inCont, "IN_CANCELLED": inCancelled,
		"CMSG_CALL": cmsgCall, "CMSG_RESULT": cmsgResult, "CMSG_INCOMING": cmsgIncoming,
		"CMSG_REPLY": cmsgReply, "CMSG_SEND": cmsgSend, "CMSG_CANCEL": cmsgCancel,
		"CMSG_METADATA": cmsgMetadata, "CMSG_STATUS_MSG": cmsgStatusMsg, "CMSG_TIMEOUT": cmsgTimeout,
		"STATUS_MAX": statusMax, "AF_DEFAULT": afDefault, "OPT_MAX_CALLS": optMaxCalls,
	}
	got := cLayout()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: C says %d, Go uses %d", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("C reports %d names, test checks %d", len(got), len(want))
	}
}

func TestCmsgCallRoundTrip(t *testing.T) {
	md := Metadata{"trace-id": []byte("abc"), "k": nil}
	mdLen, err := checkMetadata(md)
	if err != nil {
		t.Fatal(err)
	}
	var cb cmsgBuilder
	callMsg{tag: 0x1122334455667788, method: 7, flags: callStream}.encode(cb.add(cmsgCall, sizeCall))
	encodeTimeout(cb.add(cmsgTimeout, sizeTimeout), 5e8)
	md.encode(cb.add(cmsgMetadata, mdLen))
	if want := syscall.CmsgSpace(sizeCall) + syscall.CmsgSpace(sizeTimeout) +
		syscall.CmsgSpace(mdLen); len(cb.b) != want {
		t.Fatalf("control length %d, want exactly %d", len(cb.b), want)
	}
	msgs, err := syscall.ParseSocketControlMessage(cb.b)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("parse: %v, %d messages", err, len(msgs))
	}
	c := msgs[0]
	if c.Header.Level != solFastRPC || c.Header.Type != cmsgCall || len(c.Data) != sizeCall {
		t.Fatalf("bad call header %+v", c.Header)
	}
	if ne.Uint64(c.Data) != 0x1122334455667788 || ne.Uint32(c.Data[8:]) != 7 ||
		ne.Uint32(c.Data[12:]) != callStream {
		t.Fatalf("call fields wrong: % x", c.Data)
	}
	tm := msgs[1]
	if tm.Header.Level != solFastRPC || tm.Header.Type != cmsgTimeout ||
		len(tm.Data) != sizeTimeout || ne.Uint64(tm.Data) != 5e8 {
		t.Fatalf("bad timeout %+v % x", tm.Header, tm.Data)
	}
	got, err := decodeMetadata(msgs[2].Data[:mdLen])
	if err != nil || !bytes.Equal(got["trace-id"], []byte("abc")) || len(got) != 2 {
		t.Fatalf("metadata round trip: %v %v", got, err)
	}
}

// The socket layer copies up to sizeof(struct cmsghdr) + 20 bytes of
// control data into a stack buffer and allocates for more: a plain call
// and a plain reply must fit.
func TestCallAndReplyFitStackControl(t *testing.T) {
	stack := syscall.SizeofCmsghdr + 20
	var cb cmsgBuilder
	callMsg{tag: 1, method: 2}.encode(cb.add(cmsgCall, sizeCall))
	if len(cb.b) > stack {
		t.Errorf("call control %d bytes, stack buffer %d", len(cb.b), stack)
	}
	cb = cmsgBuilder{}
	encodeReply(cb.add(cmsgReply, sizeReply), 1, 0)
	if len(cb.b) > stack {
		t.Errorf("reply control %d bytes, stack buffer %d", len(cb.b), stack)
	}
}

func TestParseResultAndIncoming(t *testing.T) {
	var cb cmsgBuilder
	b := cb.add(cmsgResult, sizeResult)
	ne.PutUint64(b, 42)
	ne.PutUint32(b[8:], uint32(Unavailable))
	copy(cb.add(cmsgStatusMsg, 5), "bye!!")
	pc, err := parseControl(cb.b, cmsgResult, sizeResult)
	if err != nil {
		t.Fatal(err)
	}
	if r := decodeResult(pc.verb); r.tag != 42 || Code(r.status) != Unavailable {
		t.Fatalf("result %+v", r)
	}
	if !pc.hasState || string(pc.status) != "bye!!" {
		t.Fatalf("status message %q", pc.status)
	}
	if _, err := parseControl(cb.b, cmsgIncoming, sizeIncoming); !errors.Is(err, errNoVerb) {
		t.Fatalf("wrong verb accepted: %v", err)
	}

	cb = cmsgBuilder{}
	b = cb.add(cmsgIncoming, sizeIncoming)
	ne.PutUint64(b, 9)
	ne.PutUint32(b[8:], 3)
	ne.PutUint32(b[12:], inCont|inCancelled)
	ne.PutUint64(b[16:], 1000)
	pc, err = parseControl(cb.b, cmsgIncoming, sizeIncoming)
	if err != nil {
		t.Fatal(err)
	}
	if in := decodeIncoming(pc.verb); in != (incomingMsg{handle: 9, method: 3, flags: 3, timeoutNs: 1000}) {
		t.Fatalf("incoming %+v", in)
	}

	rb := make([]byte, sizeReply)
	encodeReply(rb, 77, uint32(NotFound))
	if ne.Uint64(rb) != 77 || ne.Uint32(rb[8:]) != uint32(NotFound) {
		t.Fatalf("reply % x", rb)
	}
}

func TestMetadataLimits(t *testing.T) {
	if _, err := checkMetadata(Metadata{"": []byte("x")}); err == nil {
		t.Error("empty key accepted")
	}
	if _, err := checkMetadata(Metadata{string(make([]byte, 256)): nil}); err == nil {
		t.Error("256-byte key accepted")
	}
	if _, err := checkMetadata(Metadata{"big": make([]byte, MaxMetadata)}); err == nil {
		t.Error("metadata over MaxMetadata accepted")
	}
	for _, bad := range [][]byte{{1}, {0, 0, 0, 0}, {3, 0, 0, 9, 'a', 'b', 'c'}} {
		if _, err := decodeMetadata(bad); err == nil {
			t.Errorf("malformed % x accepted", bad)
		}
	}
	md, err := decodeMetadata([]byte{1, 0, 0, 1, 'k', 'a', 1, 0, 0, 1, 'k', 'b'})
	if err != nil || string(md["k"]) != "a" {
		t.Errorf("repeated key: %v %v, want first value", md, err)
	}
}

func TestAddressParsing(t *testing.T) {
	for _, tc := range []struct {
		ip   string
		want string
	}{
		{"10.0.0.1", "10.0.0.1:7070"},
		{"fd00::1", "[fd00::1]:7070"},
		{"[fd00::1]", "[fd00::1]:7070"},
		{"fe80::1%1", "[fe80::1%1]:7070"},
	} {
		sa, err := sockaddrFromIP(tc.ip, 7070)
		if err != nil {
			t.Errorf("%s: %v", tc.ip, err)
			continue
		}
		if len(sa) != sizeSockaddr || int(ne.Uint16(sa)) != family() {
			t.Errorf("%s: bad sockaddr % x", tc.ip, sa)
		}
		a, ok := decodeSockaddr(sa)
		if !ok || a.String() != tc.want || a.Network() != "fastrpc" {
			t.Errorf("%s: decoded %v (%v), want %s", tc.ip, a, ok, tc.want)
		}
	}
	for _, bad := range []string{"", "host.example", "1.2.3", "fe80::1%no-such-if0"} {
		if _, err := sockaddrFromIP(bad, 1); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	sa, err := sockaddrAny(syscall.AF_INET6, 99)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := decodeSockaddr(sa); a.AddrPort != netip.AddrPortFrom(netip.IPv6Unspecified(), 99) {
		t.Errorf("wildcard %v", a)
	}
}

func TestDialErrors(t *testing.T) {
	for _, addr := range []string{"no-port", "host.example:1", "10.0.0.1:0", "10.0.0.1:http"} {
		_, err := Dial(context.Background(), addr)
		var op *net.OpError
		if !errors.As(err, &op) || op.Op != "dial" {
			t.Errorf("Dial(%q) = %v, want *net.OpError", addr, err)
		}
	}
	if _, err := Listen("10.0.0.1:7070"); err == nil {
		t.Error("Listen on a non-wildcard address accepted")
	}
	if _, err := os.Stat("/sys/module/af_fastrpc"); err != nil {
		_, err := Dial(context.Background(), "127.0.0.1:7070")
		if !errors.Is(err, syscall.EAFNOSUPPORT) {
			t.Errorf("Dial without the module: %v, want EAFNOSUPPORT", err)
		}
	}
}

func TestStatusErrors(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &StatusError{Code: DeadlineExceeded, Message: "late"})
	if !errors.Is(err, ErrDeadlineExceeded) || !errors.Is(err, context.DeadlineExceeded) {
		t.Error("deadline error does not match its sentinels")
	}
	if errors.Is(err, ErrUnavailable) || errors.Is(err, context.Canceled) {
		t.Error("deadline error matches the wrong sentinels")
	}
	if got := err.Error(); got != "wrapped: fastrpc: DEADLINE_EXCEEDED: late" {
		t.Errorf("message %q", got)
	}
	if !errors.Is(&StatusError{Code: Cancelled}, context.Canceled) {
		t.Error("CANCELLED does not match context.Canceled")
	}
	if Code(99).String() != "?" || Unauthenticated.String() != "UNAUTHENTICATED" {
		t.Error("code names")
	}
	for _, tc := range []struct {
		err  error
		code Code
	}{
		{nil, OK},
		{Errorf(NotFound, "no %d", 3), NotFound},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), DeadlineExceeded},
		{context.Canceled, Cancelled},
		{errors.New("boom"), Unknown},
	} {
		if got := statusOf(tc.err).Code; got != tc.code {
			t.Errorf("statusOf(%v) = %v, want %v", tc.err, got, tc.code)
		}
	}
}
