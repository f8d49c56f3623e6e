// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

// Method names.  The wire carries a 32-bit method number, which the
// kernel passes through untouched.  Named methods take the upper half of
// that space by a fixed hash, so that a client and a server agree on the
// number of "kv.Get" without coordination, and numeric methods keep the
// lower half:
//
//	MethodOf(name) = 0x80000000 | (FNV-1a-32(name) & 0x7fffffff)
//
// FNV-1a-32 is the hash of hash/fnv (offset basis 2166136261, prime
// 16777619) over the bytes of the name.  Two names that hash alike are
// refused when a server registers the second.

// NamedMethodBit is set in the number of every named method and clear in
// numeric methods (Server.HandleMethod, Client.Call).
const NamedMethodBit = 1 << 31

// MethodOf returns the wire method number of a named method.
func MethodOf(name string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		h ^= uint32(name[i])
		h *= 16777619
	}
	return NamedMethodBit | h&(NamedMethodBit-1)
}
