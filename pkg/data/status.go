package data

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Status describes one data set for `sgdescape data`.
type Status struct {
	Name      string         `json:"name"`
	Usable    bool           `json:"usable"`
	Path      string         `json:"path"`
	Records   map[string]int `json:"records,omitempty"`
	Checksums string         `json:"checksums"` // "verified", "mismatch", "missing", "not applicable"
	Error     string         `json:"error,omitempty"`
	Fetch     string         `json:"fetch,omitempty"`
}

// SetStatus inspects a set in dir (without loading it): files present,
// records per split from the headers, checksums verified.
func SetStatus(dir, set string) Status {
	if dir == "" {
		dir = Dir()
	}
	if set == LinReg {
		return Status{Name: set, Usable: true, Path: "(generated on demand by data.NewLinReg)", Checksums: "not applicable"}
	}
	st := Status{Name: set, Path: filepath.Join(dir, set), Records: map[string]int{}}
	fs, ok := specs[set]
	if !ok {
		st.Error = fmt.Sprintf("unknown data set %q", set)
		return st
	}
	st.Fetch = "make data"
	for _, f := range fs {
		p, err := locate(dir, set, f.name)
		if err != nil {
			st.Checksums = "missing"
			st.Error = err.Error()
			return st
		}
		n, err := countRecords(p, f.kind)
		if err != nil {
			st.Checksums = "unchecked"
			st.Error = err.Error()
			return st
		}
		if f.kind == "idx-images" || f.kind == "cifar" {
			st.Records[f.split] += n
		}
	}
	if err := Verify(dir, set); err != nil {
		var me *MissingError
		if errors.As(err, &me) {
			st.Checksums = "missing"
		} else {
			st.Checksums = "mismatch"
		}
		st.Error = err.Error()
		return st
	}
	st.Checksums = "verified"
	st.Usable = true
	st.Fetch = ""
	return st
}

// countRecords reads only what is needed to count a file's records.
func countRecords(p, kind string) (int, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r, err := maybeGunzip(f, p)
	if err != nil {
		return 0, err
	}
	switch kind {
	case "idx-images", "idx-labels":
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return 0, &FormatError{p, 0, "file is too short for an IDX header"}
		}
		if hdr[0] != 0 || hdr[1] != 0 || hdr[2] != 8 {
			return 0, &FormatError{p, 0, "not an unsigned-byte IDX file"}
		}
		return int(binary.BigEndian.Uint32(hdr[4:])), nil
	case "cifar":
		n, err := io.Copy(io.Discard, r)
		if err != nil {
			return 0, &FormatError{p, n, err.Error()}
		}
		if n%CIFARRecordSize != 0 {
			return 0, &FormatError{p, n - n%CIFARRecordSize, "file is truncated inside a record"}
		}
		return int(n / CIFARRecordSize), nil
	}
	return 0, nil
}
