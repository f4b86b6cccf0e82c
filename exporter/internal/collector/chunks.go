package collector

import (
	"hash/maphash"
	"math"
	"sync"

	dto "github.com/prometheus/client_model/go"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/exposition"
)

// What a scrape keeps for the next one. At 100,000 apps a scrape in
// current mode is 0.7 million lines (95 MiB of text, 2.2 MiB gzip'd), and
// between two scrapes few of them change. So:
//
//   - the apps' orders (by name, and the info family's) are kept with a
//     hash of the keys they were sorted by, and reused while it matches;
//   - on a gzip'd response, each family's lines are cut into chunks at
//     lines whose hash has its low bits zero (content-defined, so a line
//     added or removed changes one chunk, not every chunk after it), and
//     each chunk is kept, compressed, under the hash of its lines. A chunk
//     seen before is copied as it is; only new chunks are written and
//     compressed. Chunks not used by a scrape are dropped after it.
//
// A line's hash is built from a key each emitter passes (a hash of the
// series' label values; the family fixes the label names) and the value.
// Only the compressed form is kept: about 2-3 MiB at 100,000 apps. Plain
// responses (curl, tests) write every line as before.

// chunkLines: a chunk ends after a line whose hash has these bits zero
// (about 128 lines, 10-30 KB of text), or after maxChunkLines.
const (
	chunkMask     = 127
	maxChunkLines = 1024
)

type chunkKey struct {
	fam string
	om  bool
}

// chunkCache is one family's kept chunks in one syntax; its lock is held
// while the family is written.
type chunkCache struct {
	mu     sync.Mutex
	gen    uint64
	chunks map[uint64]*keptChunk
}

type keptChunk struct {
	exposition.Chunk
	lines int
	gen   uint64
}

func (c *Collector) chunkCache(f *family, om bool) *chunkCache {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := chunkKey{f.name, om}
	cc := c.chunks[k]
	if cc == nil {
		cc = &chunkCache{chunks: map[uint64]*keptChunk{}}
		c.chunks[k] = cc
	}
	return cc
}

// pendingChunk is the chunk being built: its lines' hash and what is
// needed to write them, should the chunk be new.
type pendingChunk struct {
	hash   uint64
	lines  []pendingLine
	labels []*dto.LabelPair
	text   []byte
}

type pendingLine struct {
	labels []*dto.LabelPair
	v      float64
}

const chunkSeed = 0x243f6a8885a308d3

func (b *builder) cached(key uint64, v float64, labels []*dto.LabelPair) {
	p := &b.chunk
	if len(p.lines) == 0 {
		p.hash = chunkSeed
	}
	lh := mix(key, math.Float64bits(v))
	p.hash = mix(p.hash, lh)
	n := len(p.labels)
	p.labels = append(p.labels, labels...)
	p.lines = append(p.lines, pendingLine{labels: p.labels[n:len(p.labels):len(p.labels)], v: v})
	if lh&chunkMask == 0 || len(p.lines) >= maxChunkLines {
		b.flushChunk()
	}
}

// flushChunk writes the pending chunk: kept bytes when it was seen before,
// else its lines, compressed and kept.
func (b *builder) flushChunk() {
	p := &b.chunk
	if len(p.lines) == 0 || b.err != nil {
		p.lines, p.labels = p.lines[:0], p.labels[:0]
		return
	}
	cc := b.cache
	k := cc.chunks[p.hash]
	if k == nil || k.lines != len(p.lines) {
		k = &keptChunk{lines: len(p.lines)}
		cc.chunks[p.hash] = k
	}
	k.gen = cc.gen
	if !k.Compressed() {
		text := p.text[:0]
		for _, l := range p.lines {
			text = exposition.AppendSample(text, b.name, l.labels, l.v, b.om)
		}
		k.Text = text
	}
	b.err = b.w.WriteChunk(&k.Chunk)
	if k.Text != nil {
		p.text, k.Text = k.Text, nil // kept compressed only; the buffer serves the next chunk
	}
	p.lines, p.labels = p.lines[:0], p.labels[:0]
}

// end finishes the family: the last chunk, then the chunks no longer used
// are dropped.
func (b *builder) end() {
	if b.cache == nil {
		return
	}
	b.flushChunk()
	cc := b.cache
	for h, k := range cc.chunks {
		if k.gen != cc.gen {
			delete(cc.chunks, h)
		}
	}
}

// orderCache keeps an order of the snapshot's apps with a hash of the keys
// it was made from, in snapshot order.
type orderCache struct {
	hash  uint64
	n     int
	order []int32
}

// get returns the kept order when keys hash as before, else make's (kept).
// The order is shared: do not modify it.
func (o *orderCache) get(mu *sync.Mutex, keys []uint64, make func() []int32) []int32 {
	h := uint64(chunkSeed)
	for _, k := range keys {
		h = mix(h, k)
	}
	mu.Lock()
	if o.order != nil && o.hash == h && o.n == len(keys) {
		defer mu.Unlock()
		return o.order
	}
	mu.Unlock()
	order := make()
	mu.Lock()
	o.hash, o.n, o.order = h, len(keys), order
	mu.Unlock()
	return order
}

// ranks maps each app's idKey to its place in byName; kept while byName
// is the same order. Nil for no apps.
func (c *Collector) ranks(byName []int32, idKeys []uint64) map[uint64]int32 {
	if len(byName) == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.rankOrder) == len(byName) && &c.rankOrder[0] == &byName[0] {
		return c.rank
	}
	rank := make(map[uint64]int32, len(byName))
	for k, i := range byName {
		rank[idKeys[i]] = int32(k)
	}
	c.rankOrder, c.rank = byName, rank
	return rank
}

var hashSeed = maphash.MakeSeed()

func strKey(s string) uint64 { return maphash.String(hashSeed, s) }

// idKey hashes an app's identifying label values.
func idKey(name, namespace, project string) uint64 {
	return mix(mix(strKey(name), strKey(namespace)), strKey(project))
}

// infoKey hashes the info family's label values of a.
func infoKey(id uint64, a *argocd.App) uint64 {
	h := mix(id, strKey(a.DestNamespace))
	h = mix(h, strKey(a.DestServer))
	h = mix(h, strKey(a.Repo))
	h = mix(h, strKey(a.Parent))
	h = mix(h, strKey(string(a.ParentKind)))
	return mix(h, uint64(boolValue(a.AutoSync)))
}

// mix folds x into h (order matters).
func mix(h, x uint64) uint64 {
	h ^= x + 0x9e3779b97f4a7c15
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 31
	h *= 0x94d049bb133111eb
	return h ^ h>>29
}
