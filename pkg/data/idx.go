package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxElements bounds the number of values a single file may declare (2³¹,
// far above any data set here). A header beyond it is rejected before any
// allocation.
const MaxElements = 1 << 31

// chunk is the step by which buffers grow while reading: memory follows the
// bytes actually present, never what a header claims.
const chunk = 1 << 20

// IDX is the content of an IDX file (the MNIST format): an unsigned-byte
// tensor with its dimensions.
type IDX struct {
	Dims []int
	Data []uint8
}

// FormatError reports a malformed file: which file, at which byte offset of
// its (decompressed) content, and what was wrong.
type FormatError struct {
	File   string
	Offset int64
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%s: malformed at byte offset %d: %s", e.File, e.Offset, e.Msg)
}

// maybeGunzip returns a reader of the decompressed stream when r starts with
// the gzip magic bytes, and of r itself otherwise.
func maybeGunzip(r io.Reader, name string) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &FormatError{name, 0, "corrupt gzip header: " + err.Error()}
		}
		return zr, nil
	}
	return br, nil
}

// readExactly reads n bytes, growing the buffer in chunks, so that a header
// that claims more than the file holds costs no more memory than the file.
// base is the offset of the first byte, for error messages.
func readExactly(r io.Reader, n int64, name string, base int64, what string) ([]byte, error) {
	buf := make([]byte, 0, min(n, chunk))
	for int64(len(buf)) < n {
		want := min(n-int64(len(buf)), chunk)
		if int64(cap(buf)-len(buf)) < want {
			nb := make([]byte, len(buf), min(n, int64(cap(buf))*2+want))
			copy(nb, buf)
			buf = nb
		}
		got, err := io.ReadFull(r, buf[len(buf):len(buf)+int(want)])
		buf = buf[:len(buf)+got]
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, &FormatError{name, base + int64(len(buf)),
					fmt.Sprintf("file is truncated: the header promises %d bytes of %s, only %d are present", n, what, len(buf))}
			}
			var fe *FormatError
			if errors.As(err, &fe) {
				return nil, err
			}
			return nil, &FormatError{name, base + int64(len(buf)), "read error: " + err.Error()}
		}
	}
	return buf, nil
}

// ReadIDX parses an IDX file (gzip-compressed or raw) of unsigned bytes
// (type code 0x08), as used by MNIST and Fashion-MNIST. name is used in
// errors. Trailing bytes after the declared data are an error.
func ReadIDX(r io.Reader, name string) (*IDX, error) {
	r, err := maybeGunzip(r, name)
	if err != nil {
		return nil, err
	}
	var magic [4]byte
	if n, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, &FormatError{name, int64(n), "file is too short for an IDX header (4 magic bytes)"}
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, &FormatError{name, 0, fmt.Sprintf("not an IDX file: magic %02x %02x %02x %02x, want 00 00 08 <ndims>", magic[0], magic[1], magic[2], magic[3])}
	}
	if magic[2] != 0x08 {
		return nil, &FormatError{name, 2, fmt.Sprintf("IDX element type 0x%02x is not supported (only 0x08, unsigned byte)", magic[2])}
	}
	nd := int(magic[3])
	if nd < 1 || nd > 4 {
		return nil, &FormatError{name, 3, fmt.Sprintf("IDX declares %d dimensions; expected 1 to 4", nd)}
	}
	dimBytes := make([]byte, 4*nd)
	if n, err := io.ReadFull(r, dimBytes); err != nil {
		return nil, &FormatError{name, 4 + int64(n), fmt.Sprintf("file is truncated inside the header (%d dimensions)", nd)}
	}
	dims := make([]int, nd)
	total := int64(1)
	for i := range dims {
		d := binary.BigEndian.Uint32(dimBytes[4*i:])
		if d == 0 {
			return nil, &FormatError{name, 4 + 4*int64(i), fmt.Sprintf("dimension %d is zero", i)}
		}
		total *= int64(d)
		if total > MaxElements {
			return nil, &FormatError{name, 4 + 4*int64(i), fmt.Sprintf("absurd dimensions: more than %d elements declared", int64(MaxElements))}
		}
		dims[i] = int(d)
	}
	hdr := int64(4 + 4*nd)
	body, err := readExactly(r, total, name, hdr, "data")
	if err != nil {
		return nil, err
	}
	var extra [1]byte
	if n, _ := io.ReadFull(r, extra[:]); n > 0 {
		return nil, &FormatError{name, hdr + total, "unexpected bytes after the declared data"}
	}
	return &IDX{Dims: dims, Data: body}, nil
}

// CIFAR-10 binary format: each record is one label byte then 3072 pixel bytes
// (1024 red, 1024 green, 1024 blue, each 32×32 row-major).
const (
	CIFARSide       = 32
	CIFARChannels   = 3
	CIFARPixels     = CIFARSide * CIFARSide * CIFARChannels
	CIFARRecordSize = 1 + CIFARPixels
	CIFARClasses    = 10
)

// CIFARBatch is a parsed CIFAR-10 binary file: labels and planar pixels.
type CIFARBatch struct {
	Labels []uint8
	Pixels []uint8 // record i's 3072 bytes at [i*3072, (i+1)*3072), planar R, G, B
}

// ReadCIFAR parses a CIFAR-10 binary batch (gzip-compressed or raw),
// streaming record by record. The stream must hold a whole number of
// 3073-byte records; a partial last record and labels outside 0..9 are errors
// that give the byte offset. sizeHint, when positive, is the expected number
// of records (used only to size buffers).
func ReadCIFAR(r io.Reader, name string, sizeHint int) (*CIFARBatch, error) {
	r, err := maybeGunzip(r, name)
	if err != nil {
		return nil, err
	}
	hint := min(max(sizeHint, 0), 100000)
	b := &CIFARBatch{Labels: make([]uint8, 0, hint), Pixels: make([]uint8, 0, hint*CIFARPixels)}
	var rec [CIFARRecordSize]byte
	for i := 0; ; i++ {
		off := int64(i) * CIFARRecordSize
		n, err := io.ReadFull(r, rec[:])
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &FormatError{name, off, fmt.Sprintf("file is truncated: the last record has %d of %d bytes (records are 1 label byte + %d pixel bytes)", n, CIFARRecordSize, CIFARPixels)}
		}
		if err != nil {
			var fe *FormatError
			if errors.As(err, &fe) {
				return nil, err
			}
			return nil, &FormatError{name, off + int64(n), "read error: " + err.Error()}
		}
		if rec[0] >= CIFARClasses {
			return nil, &FormatError{name, off, fmt.Sprintf("record %d has label %d, outside 0..%d", i, rec[0], CIFARClasses-1)}
		}
		if int64(len(b.Labels)+1)*CIFARRecordSize > MaxElements {
			return nil, &FormatError{name, off, "file is larger than any CIFAR-10 batch could be"}
		}
		b.Labels = append(b.Labels, rec[0])
		b.Pixels = append(b.Pixels, rec[1:]...)
	}
	if len(b.Labels) == 0 {
		return nil, &FormatError{name, 0, "file holds no records"}
	}
	return b, nil
}
