// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

// Host tests: no module needed.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"unsafe"
)

const headerPath = "../../uapi/linux/fastrpc.h"

// zuapi.go must be what mkuapi.sh makes of the header now.
func TestGeneratedUapiIsFresh(t *testing.T) {
	if _, err := os.Stat(headerPath); err != nil {
		t.Skipf("the uapi header is not here (%v): run in the source tree", err)
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Skip("no Go toolchain to run cgo -godefs with")
		}
	}
	cc := "gcc"
	if out, err := exec.Command(goBin, "env", "CC").Output(); err == nil && len(bytes.TrimSpace(out)) > 0 {
		cc = string(bytes.Fields(out)[0])
	}
	if _, err := exec.LookPath(cc); err != nil {
		t.Skipf("no C compiler (%s) for cgo -godefs", cc)
	}
	cmd := exec.Command("sh", "mkuapi.sh")
	cmd.Env = append(os.Environ(), "GO="+goBin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("mkuapi.sh: %v\n%s", err, stderr.Bytes())
	}
	want, err := os.ReadFile("zuapi.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("zuapi.go is stale: run go generate in gobind/fastrpc\n--- generated now:\n%s", got)
	}
}

// The structures are laid out as in C, without padding Go would add.
func TestLayoutSizes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		go_, hdr uintptr
	}{
		{"sockaddr_fastrpc", unsafe.Sizeof(rawSockaddr{}), sizeofSockaddr},
		{"fastrpc_call", unsafe.Sizeof(rawCall{}), sizeofCall},
		{"fastrpc_send", unsafe.Sizeof(rawSend{}), sizeofSend},
		{"fastrpc_result", unsafe.Sizeof(rawResult{}), sizeofResult},
		{"fastrpc_incoming", unsafe.Sizeof(rawIncoming{}), sizeofIncoming},
		{"fastrpc_reply", unsafe.Sizeof(rawReply{}), sizeofReply},
		{"fastrpc_features", unsafe.Sizeof(rawFeatures{}), sizeofFeatures},
		{"fastrpc_sock_info", unsafe.Sizeof(rawSockInfo{}), sizeofSockInfo},
		{"fastrpc_ring_setup", unsafe.Sizeof(rawRingSetup{}), sizeofRingSetup},
		{"fastrpc_ring_info", unsafe.Sizeof(rawRingInfo{}), sizeofRingInfo},
		{"fastrpc_sqe", unsafe.Sizeof(rawSQE{}), sizeofSQE},
		{"fastrpc_cqe", unsafe.Sizeof(rawCQE{}), sizeofCQE},
	} {
		if tc.go_ != tc.hdr {
			t.Errorf("struct %s: Go %d bytes, C %d", tc.name, tc.go_, tc.hdr)
		}
	}
}

// Code.String spells every status of enum fastrpc_status as the header
// does, and every code but OK has its sentinel.
func TestCodeNamesMatchHeader(t *testing.T) {
	hdr, err := os.ReadFile(headerPath)
	if err != nil {
		t.Skipf("the uapi header is not here (%v): run in the source tree", err)
	}
	enum := regexp.MustCompile(`(?s)enum fastrpc_status \{(.*?)\};`).FindSubmatch(hdr)
	if enum == nil {
		t.Fatal("enum fastrpc_status not found in the header")
	}
	n := 0
	for _, m := range regexp.MustCompile(`FASTRPC_([A-Z_]+)\s*=\s*(\d+),`).FindAllSubmatch(enum[1], -1) {
		v, _ := strconv.Atoi(string(m[2]))
		if got := Code(v).String(); got != string(m[1]) {
			t.Errorf("Code(%d).String() = %q, header says %s", v, got, m[1])
		}
		n++
	}
	if n != statusMax+1 {
		t.Errorf("header has %d codes, want %d", n, statusMax+1)
	}
	sentinels := []error{ErrCancelled, ErrUnknown, ErrInvalidArgument, ErrDeadlineExceeded,
		ErrNotFound, ErrAlreadyExists, ErrPermissionDenied, ErrResourceExhausted,
		ErrFailedPrecondition, ErrAborted, ErrOutOfRange, ErrUnimplemented, ErrInternal,
		ErrUnavailable, ErrDataLoss, ErrUnauthenticated}
	if len(sentinels) != statusMax {
		t.Fatalf("%d sentinels for %d codes", len(sentinels), statusMax)
	}
	for i, s := range sentinels {
		c := Code(i + 1)
		if !errors.Is(&StatusError{Code: c}, s) || CodeOf(s) != c {
			t.Errorf("sentinel %d is not %v", i, c)
		}
	}
	if Code(99).String() != "Code(99)" {
		t.Errorf("Code(99) = %q", Code(99).String())
	}
}

func TestCmsgCallRoundTrip(t *testing.T) {
	md := Metadata{"trace-id": []byte("abc"), "k": nil}
	mdLen, err := checkMetadata(md)
	if err != nil {
		t.Fatal(err)
	}
	var cb cmsgBuilder
	put(&cb, cmsgCall, &rawCall{Tag: 0x1122334455667788, Method: 7, Flags: callStream})
	cb.putU64(cmsgTimeout, 5e8)
	md.encode(cb.add(cmsgMetadata, mdLen))
	if want := syscall.CmsgSpace(sizeofCall) + syscall.CmsgSpace(sizeofTimeout) +
		syscall.CmsgSpace(mdLen); len(cb.b) != want {
		t.Fatalf("control length %d, want exactly %d", len(cb.b), want)
	}
	// the standard library's parser reads what we built
	msgs, err := syscall.ParseSocketControlMessage(cb.b)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("parse: %v, %d messages", err, len(msgs))
	}
	c := msgs[0]
	if c.Header.Level != solFastRPC || c.Header.Type != cmsgCall || len(c.Data) != sizeofCall {
		t.Fatalf("bad call header %+v", c.Header)
	}
	if ne.Uint64(c.Data) != 0x1122334455667788 || ne.Uint32(c.Data[8:]) != 7 ||
		ne.Uint32(c.Data[12:]) != callStream {
		t.Fatalf("call fields wrong: % x", c.Data)
	}
	tm := msgs[1]
	if tm.Header.Level != solFastRPC || tm.Header.Type != cmsgTimeout ||
		len(tm.Data) != sizeofTimeout || ne.Uint64(tm.Data) != 5e8 {
		t.Fatalf("bad timeout %+v % x", tm.Header, tm.Data)
	}
	got, err := decodeMetadata(msgs[2].Data[:mdLen])
	if err != nil || !bytes.Equal(got["trace-id"], []byte("abc")) || len(got) != 2 {
		t.Fatalf("metadata round trip: %v %v", got, err)
	}
	// and ours reads it back the same
	pc, err := parseControl(cb.b, cmsgCall, sizeofCall)
	if err != nil || !pc.hasMeta || !bytes.Equal(pc.meta, msgs[2].Data) {
		t.Fatalf("parseControl: %v %+v", err, pc)
	}
	if d := decode[rawCall](pc.verb); d != (rawCall{Tag: 0x1122334455667788, Method: 7, Flags: callStream}) {
		t.Fatalf("decoded %+v", d)
	}
}

// The socket layer copies up to sizeof(struct cmsghdr) + 20 bytes of
// control data into a stack buffer and allocates for more: a plain call
// and a plain reply must fit.
func TestCallAndReplyFitStackControl(t *testing.T) {
	stack := syscall.SizeofCmsghdr + 20
	var cb cmsgBuilder
	put(&cb, cmsgCall, &rawCall{Tag: 1, Method: 2})
	if len(cb.b) > stack {
		t.Errorf("call control %d bytes, stack buffer %d", len(cb.b), stack)
	}
	cb = cmsgBuilder{}
	put(&cb, cmsgReply, &rawReply{Handle: 1})
	if len(cb.b) > stack {
		t.Errorf("reply control %d bytes, stack buffer %d", len(cb.b), stack)
	}
}

func TestParseResultAndIncoming(t *testing.T) {
	var cb cmsgBuilder
	put(&cb, cmsgResult, &rawResult{Tag: 42, Status: uint32(Unavailable)})
	copy(cb.add(cmsgStatusMsg, 5), "bye!!")
	pc, err := parseControl(cb.b, cmsgResult, sizeofResult)
	if err != nil {
		t.Fatal(err)
	}
	if r := decode[rawResult](pc.verb); r.Tag != 42 || Code(r.Status) != Unavailable {
		t.Fatalf("result %+v", r)
	}
	if !pc.hasState || string(pc.status) != "bye!!" {
		t.Fatalf("status message %q", pc.status)
	}
	if _, err := parseControl(cb.b, cmsgIncoming, sizeofIncoming); !errors.Is(err, errNoVerb) {
		t.Fatalf("wrong verb accepted: %v", err)
	}
	if _, err := parseControl(cb.b[:20], cmsgResult, sizeofResult); err == nil {
		t.Fatal("truncated control message accepted")
	}

	cb = cmsgBuilder{}
	b := cb.add(cmsgIncoming, sizeofIncoming)
	ne.PutUint64(b, 9)
	ne.PutUint32(b[8:], 3)
	ne.PutUint32(b[12:], inCont|inCancelled)
	ne.PutUint64(b[16:], 1000)
	pc, err = parseControl(cb.b, cmsgIncoming, sizeofIncoming)
	if err != nil {
		t.Fatal(err)
	}
	if in := decode[rawIncoming](pc.verb); in != (rawIncoming{Handle: 9, Method: 3, Flags: 3, Ns: 1000}) {
		t.Fatalf("incoming %+v", in)
	}
}

func TestParseControlAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts under the race detector say nothing")
	}
	var cb cmsgBuilder
	put(&cb, cmsgResult, &rawResult{Tag: 42})
	copy(cb.add(cmsgMetadata, 5), "\x01\x00\x00\x00k")
	if n := testing.AllocsPerRun(100, func() {
		pc, err := parseControl(cb.b, cmsgResult, sizeofResult)
		if err != nil || decode[rawResult](pc.verb).Tag != 42 {
			t.Fatal("parse failed")
		}
	}); n != 0 {
		t.Errorf("parseControl allocates %.1f times", n)
	}
	buf := make([]byte, 0, 128)
	if n := testing.AllocsPerRun(100, func() {
		cb := cmsgBuilder{b: buf[:0]}
		put(&cb, cmsgCall, &rawCall{Tag: 1, Method: 2})
		cb.putU64(cmsgTimeout, 3)
	}); n != 0 {
		t.Errorf("building a call's control messages allocates %.1f times", n)
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
		addr string
		want string
	}{
		{"10.0.0.1:7070", "10.0.0.1:7070"},
		{"[fd00::1]:7070", "[fd00::1]:7070"},
		{"[fe80::1%1]:7070", "[fe80::1%1]:7070"},
		{"[fe80::1%lo]:7070", "[fe80::1%1]:7070"}, // lo is interface 1
	} {
		aps, err := resolve(context.Background(), tc.addr, false)
		if err != nil || len(aps) != 1 {
			t.Errorf("%s: %v %v", tc.addr, aps, err)
			continue
		}
		sa, err := encodeSockaddr(aps[0])
		if err != nil {
			t.Errorf("%s: %v", tc.addr, err)
			continue
		}
		if int(sa.Family) != family() || sa.Reserved != 0 {
			t.Errorf("%s: bad sockaddr %+v", tc.addr, sa)
		}
		a, ok := decodeSockaddr(sa.bytes())
		if !ok || a.String() != tc.want || a.Network() != "fastrpc" {
			t.Errorf("%s: decoded %v (%v), want %s", tc.addr, a, ok, tc.want)
		}
	}
	// the port is in network byte order, as the C header says
	aps, _ := resolve(context.Background(), "10.0.0.1:7070", false)
	sa, _ := encodeSockaddr(aps[0])
	if b := sa.bytes(); b[4] != 7070>>8 || b[5] != 7070&0xff || !bytes.Equal(b[8:12], []byte{10, 0, 0, 1}) {
		t.Errorf("sockaddr bytes % x", b)
	}
	if _, err := encodeSockaddr(netip.MustParseAddrPort("[fe80::1%no-such-if0]:1")); !errors.Is(err, syscall.ENODEV) {
		t.Errorf("unknown interface: %v", err)
	}
	for _, bad := range []string{"", ":1", "1.2.3.4", "1.2.3.4:0", "1.2.3.4:http", "[::1:1"} {
		if _, err := resolve(context.Background(), bad, false); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	w, err := resolve(context.Background(), ":99", true)
	if err != nil || w[0] != netip.AddrPortFrom(netip.IPv6Unspecified(), 99) {
		t.Errorf("wildcard %v %v", w, err)
	}
}

// Dial resolves host names: "localhost" (from /etc/hosts) gives loopback
// addresses.
func TestResolveHostName(t *testing.T) {
	if _, err := os.Stat("/etc/hosts"); err != nil {
		t.Skip("no /etc/hosts to resolve localhost with")
	}
	aps, err := resolve(context.Background(), "localhost:7070", false)
	if err != nil || len(aps) == 0 {
		t.Fatalf("localhost: %v %v", aps, err)
	}
	for _, ap := range aps {
		if !ap.Addr().IsLoopback() || ap.Port() != 7070 {
			t.Errorf("localhost resolved to %v", ap)
		}
	}
}

func TestDialErrors(t *testing.T) {
	for _, addr := range []string{"no-port", "host.invalid:1", "10.0.0.1:0", "10.0.0.1:http"} {
		_, err := Dial(context.Background(), addr)
		var op *net.OpError
		if !errors.As(err, &op) || op.Op != "dial" {
			t.Errorf("Dial(%q) = %v, want *net.OpError", addr, err)
		}
	}
	if _, err := os.Stat("/sys/module/af_fastrpc"); err != nil {
		_, err := Dial(context.Background(), "127.0.0.1:7070")
		if !errors.Is(err, syscall.EAFNOSUPPORT) {
			t.Errorf("Dial without the module: %v, want EAFNOSUPPORT", err)
		}
		var op *net.OpError
		if !errors.As(err, &op) {
			t.Errorf("Dial without the module: %T, want *net.OpError", err)
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
	var se *StatusError
	if !errors.As(err, &se) || se.Message != "late" {
		t.Error("errors.As does not find the *StatusError")
	}
	if !errors.Is(&StatusError{Code: Cancelled}, context.Canceled) {
		t.Error("CANCELLED does not match context.Canceled")
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
		if got := CodeOf(tc.err); got != tc.code {
			t.Errorf("CodeOf(%v) = %v, want %v", tc.err, got, tc.code)
		}
	}
}

// Method names hash into the upper half of the method numbers, the same
// everywhere (FNV-1a 32 of hash/fnv, top bit set).
func TestMethodOf(t *testing.T) {
	for _, name := range []string{"", "kv.Get", "kv.Put", "a.very.long.service.Name/Method"} {
		h := fnv.New32a()
		h.Write([]byte(name))
		want := h.Sum32() | NamedMethodBit
		if got := MethodOf(name); got != want {
			t.Errorf("MethodOf(%q) = %#x, want %#x", name, got, want)
		}
	}
	if MethodOf("kv.Get") != 0xe580159a {
		t.Errorf("MethodOf(kv.Get) = %#x: the documented mapping changed", MethodOf("kv.Get"))
	}
	s := NewServer()
	s.Handle("x", nil)
	for _, f := range []func(){
		func() { s.Handle("x", nil) },
		func() { s.HandleMethod(MethodOf("x"), nil) },
		func() { s.HandleMethod(7, nil); s.HandleMethod(7, nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("a second registration of a method number was accepted")
				}
			}()
			f()
		}()
	}
}
