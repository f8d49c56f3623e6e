// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Metadata entries: build and walk the sequence of struct
 * fastrpc_meta_entry records that FASTRPC_CMSG_METADATA carries.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "internal.h"

FASTRPC_EXPORT int fastrpc_meta_add(void *buf, size_t cap, size_t *len,
				    const char *key, const void *val,
				    size_t vlen)
{
	struct fastrpc_meta_entry e = { 0 };
	size_t klen = key ? strlen(key) : 0;
	size_t need;
	uint8_t *p;

	if (!buf || !len || !klen || klen > 255 || vlen > 65535 ||
	    (vlen && !val))
		return -EINVAL;
	need = sizeof(e) + klen + vlen;
	if (*len > cap || cap - *len < need ||
	    *len + need > FASTRPC_MAX_METADATA)
		return -ENOSPC;
	e.key_len = (uint8_t)klen;
	e.value_len = htons((uint16_t)vlen);
	p = (uint8_t *)buf + *len;
	memcpy(p, &e, sizeof(e));
	memcpy(p + sizeof(e), key, klen);
	if (vlen)
		memcpy(p + sizeof(e) + klen, val, vlen);
	*len += need;
	return 0;
}

FASTRPC_EXPORT void fastrpc_meta_iter_init(struct fastrpc_meta_iter *it,
					   const void *meta, size_t len)
{
	it->p = meta;
	it->end = it->p ? it->p + len : NULL;
}

FASTRPC_EXPORT int fastrpc_meta_next(struct fastrpc_meta_iter *it,
				     const char **key, size_t *klen,
				     const void **val, size_t *vlen)
{
	struct fastrpc_meta_entry e;
	size_t left, kl, vl;

	if (!it->p || it->p == it->end)
		return 0;
	left = (size_t)(it->end - it->p);
	if (left < sizeof(e))
		return -EPROTO;
	memcpy(&e, it->p, sizeof(e));
	kl = e.key_len;
	vl = ntohs(e.value_len);
	if (!kl || e.reserved || left - sizeof(e) < kl + vl)
		return -EPROTO;
	*key = (const char *)it->p + sizeof(e);
	*klen = kl;
	*val = it->p + sizeof(e) + kl;
	*vlen = vl;
	it->p += sizeof(e) + kl + vl;
	return 1;
}

FASTRPC_EXPORT int fastrpc_meta_get(const void *meta, size_t len,
				    const char *key, const void **val,
				    size_t *vlen)
{
	struct fastrpc_meta_iter it;
	size_t want = strlen(key), kl;
	const char *k;
	int ret;

	fastrpc_meta_iter_init(&it, meta, len);
	while ((ret = fastrpc_meta_next(&it, &k, &kl, val, vlen)) > 0)
		if (kl == want && !memcmp(k, key, kl))
			return 0;
	return ret < 0 ? ret : -ENOENT;
}
