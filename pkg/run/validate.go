package run

// Validation of cache entries: an entry is trusted only when it is complete
// (every member its type always writes is present) and, when it carries a
// checksum, when its payload matches it (see Cache.Load and Cache.Store).

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
)

// complete reports whether the stored JSON b holds every member that the
// type of *out always writes: the members of its zero value, recursively
// through nested objects (members with omitempty are absent from the zero
// value, so they may be missing). An entry cut short, or forged as
// {"cache_key": "…"}, is therefore not trusted.
func complete(b []byte, out any) bool {
	t := reflect.TypeOf(out)
	if t == nil || t.Kind() != reflect.Pointer {
		return true
	}
	zero, err := json.Marshal(reflect.New(t.Elem()).Interface())
	if err != nil {
		return true
	}
	var want, got any
	if json.Unmarshal(zero, &want) != nil || json.Unmarshal(b, &got) != nil {
		return false
	}
	return covers(got, want)
}

// checksumKey is the member, next to "result", that holds the SHA-256 of
// the compact JSON of the result; Store writes it and Load verifies it, so a
// payload altered on disk (bit rot, a hand edit) is recomputed. Entries
// written before it existed have none and are accepted when complete.
const checksumKey = "result_sha256"

func payloadSum(raw json.RawMessage) (string, bool) {
	var c bytes.Buffer
	if err := json.Compact(&c, raw); err != nil {
		return "", false
	}
	s := sha256.Sum256(c.Bytes())
	return hex.EncodeToString(s[:]), true
}

// intact verifies the checksum of an entry that has one.
func intact(b []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return true // not an object: left to json.Unmarshal and complete
	}
	want, ok := m[checksumKey]
	if !ok {
		return true
	}
	var w string
	if json.Unmarshal(want, &w) != nil {
		return false
	}
	got, ok := payloadSum(m["result"])
	return ok && got == w
}

// withChecksum adds checksumKey to an encoded object with a "result".
func withChecksum(b []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return b
	}
	raw, ok := m["result"]
	if !ok {
		return b
	}
	sum, ok := payloadSum(raw)
	if !ok {
		return b
	}
	m[checksumKey], _ = json.Marshal(sum)
	out, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return b
	}
	return out
}

func covers(got, want any) bool {
	w, ok := want.(map[string]any)
	if !ok {
		return true
	}
	g, ok := got.(map[string]any)
	if !ok {
		return false
	}
	for k, wv := range w {
		gv, ok := g[k]
		if !ok || !covers(gv, wv) {
			return false
		}
	}
	return true
}
