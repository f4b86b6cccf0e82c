package exposition

import (
	"bufio"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"io"
	"sync"
)

// Writer is where a TextFamily writes: text lines, in the syntax
// OpenMetrics says, and chunks of lines it kept from an earlier scrape.
// Behind it the response is plain or gzip'd; a chunk goes out as its
// text, or as its deflate form compressed once and kept (at 100,000 apps
// gzip is most of a scrape that is otherwise copies of kept bytes).
type Writer struct {
	*bufio.Writer
	om bool
	gz *gzipStream // nil: the text goes out as it is
}

// NewWriter writes plain text to dst (buffered: call Flush).
func NewWriter(dst io.Writer, openMetrics bool) *Writer {
	return &Writer{Writer: bufio.NewWriterSize(dst, 64<<10), om: openMetrics}
}

// OpenMetrics reports whether the lines must be in OpenMetrics 1.0 syntax.
func (w *Writer) OpenMetrics() bool { return w.om }

// Compressed reports whether the response is gzip'd: WriteChunk then
// needs the chunk's Deflate form, else its Text.
func (w *Writer) Compressed() bool { return w.gz != nil }

// Chunk is a run of whole lines a Source keeps between scrapes: its text
// and, once a gzip'd scrape needed it, its deflate form. A Source may drop
// Text once the chunk is Compressed, to keep less memory.
type Chunk struct {
	Text []byte

	deflate []byte // raw deflate, byte-aligned, not final (ends with a sync flush)
	crc     uint32 // CRC-32 of the text
	size    int64  // length of the text
}

// Compressed reports whether the chunk has its deflate form.
func (c *Chunk) Compressed() bool { return c.deflate != nil }

// WriteChunk writes the chunk: its Text on a plain response (Text must be
// set), its deflate form on a gzip'd one (made from Text the first time).
func (w *Writer) WriteChunk(c *Chunk) error {
	if w.gz == nil {
		_, err := w.Write(c.Text)
		return err
	}
	if c.deflate == nil {
		c.compress()
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return w.gz.writeDeflate(c)
}

var chunkFlaters = sync.Pool{New: func() any {
	fw, _ := flate.NewWriter(nil, flate.BestSpeed)
	return fw
}}

// compress makes the chunk's deflate form from its text: a stream of its
// own (no back-reference outside the chunk), flushed to a byte boundary
// and not final, so chunks and other deflate output can follow each other.
func (c *Chunk) compress() {
	var out chunkBuf
	fw := chunkFlaters.Get().(*flate.Writer)
	fw.Reset(&out)
	_, _ = fw.Write(c.Text)
	_ = fw.Flush()
	fw.Reset(nil)
	chunkFlaters.Put(fw)
	c.deflate = out.b
	c.crc = crc32.ChecksumIEEE(c.Text)
	c.size = int64(len(c.Text))
}

type chunkBuf struct{ b []byte }

func (b *chunkBuf) Write(p []byte) (int, error) { b.b = append(b.b, p...); return len(p), nil }

// gzipStream writes a gzip member whose deflate data mixes what its own
// compressor makes of written text with chunks compressed earlier; the
// trailer's CRC-32 combines the chunks' CRCs without reading their text.
type gzipStream struct {
	dst   io.Writer
	fw    *flate.Writer
	dirty bool // fw has written since its last reset
	crc   uint32
	size  int64
	err   error
}

// gzip's header as compress/gzip writes it at BestSpeed: no name, no
// time, XFL 4 (fastest), OS unknown.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255}

var streamFlaters = sync.Pool{New: func() any {
	fw, _ := flate.NewWriter(nil, flate.BestSpeed)
	return fw
}}

func newGzipStream(dst io.Writer) *gzipStream {
	fw := streamFlaters.Get().(*flate.Writer)
	fw.Reset(dst)
	g := &gzipStream{dst: dst, fw: fw}
	_, g.err = dst.Write(gzipHeader)
	return g
}

func (g *gzipStream) Write(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	g.dirty = true
	g.crc = crc32.Update(g.crc, crc32.IEEETable, p)
	g.size += int64(len(p))
	var n int
	n, g.err = g.fw.Write(p)
	return n, g.err
}

func (g *gzipStream) writeDeflate(c *Chunk) error {
	if g.err != nil {
		return g.err
	}
	if g.dirty {
		// Byte-align and end the compressor's blocks; after the chunk it
		// starts afresh, since its window no longer ends where the text does.
		if g.err = g.fw.Flush(); g.err != nil {
			return g.err
		}
		g.fw.Reset(g.dst)
		g.dirty = false
	}
	if _, g.err = g.dst.Write(c.deflate); g.err != nil {
		return g.err
	}
	g.crc = crc32Combine(g.crc, c.crc, c.size)
	g.size += c.size
	return nil
}

// Close ends the deflate data with a final block and writes the trailer.
func (g *gzipStream) Close() error {
	if g.err == nil {
		g.err = g.fw.Close()
	}
	if g.err == nil {
		var t [8]byte
		binary.LittleEndian.PutUint32(t[:4], g.crc)
		binary.LittleEndian.PutUint32(t[4:], uint32(g.size))
		_, g.err = g.dst.Write(t[:])
	}
	g.fw.Reset(nil)
	streamFlaters.Put(g.fw)
	g.fw = nil
	return g.err
}

// crc32Combine is the CRC-32 (IEEE) of a text whose first part has crc1
// and second part, len2 bytes long, crc2 (zlib's crc32_combine).
func crc32Combine(crc1, crc2 uint32, len2 int64) uint32 {
	return multModP(x2nModP(len2, 3), crc1) ^ crc2
}

const crcPoly = 0xedb88320 // reflected IEEE polynomial

// multModP multiplies a and b modulo the CRC polynomial (reflected bits).
func multModP(a, b uint32) uint32 {
	m := uint32(1) << 31
	var p uint32
	for {
		if a&m != 0 {
			p ^= b
			if a&(m-1) == 0 {
				break
			}
		}
		m >>= 1
		if b&1 != 0 {
			b = b>>1 ^ crcPoly
		} else {
			b >>= 1
		}
	}
	return p
}

// x2nTable[k] is x^(2^k) modulo the polynomial.
var x2nTable = func() (t [32]uint32) {
	p := uint32(1) << 30 // x^1
	t[0] = p
	for n := 1; n < 32; n++ {
		p = multModP(p, p)
		t[n] = p
	}
	return t
}()

// x2nModP is x^(n * 2^k) modulo the polynomial.
func x2nModP(n int64, k uint) uint32 {
	p := uint32(1) << 31 // x^0
	for n != 0 {
		if n&1 != 0 {
			p = multModP(x2nTable[k&31], p)
		}
		n >>= 1
		k++
	}
	return p
}
