package stream

import (
	"math"
	"sort"
)

// windower is the deterministic core of the window operator: elements and
// watermarks in, window firings out, no clocks or I/O. The same input
// always gives the same firings in the same order.
//
// Time: the watermark w says every element with a timestamp before w has
// arrived. A window [start, end) fires once w >= end; it keeps its state
// until w >= end+lateness, and an element for it arriving in between (a
// late element) fires it again with everything it holds. An element whose
// every window is past its lateness is late for good: add reports it, for
// the side output.
type windower[K comparable, T any] struct {
	spec      WindowSpec
	lateness  int64
	watermark int64 // math.MinInt64 until the first advance
	keys      map[K]*keyWindows[T]
	nextSeq   uint64 // numbers keys by first sight, to order firings
}

type keyWindows[T any] struct {
	seq   uint64
	panes []*pane[T] // time windows, by ascending start
	// count windows: the elements kept and how many arrived since the
	// last firing.
	kept  []T
	since int
}

type pane[T any] struct {
	span
	items []T
	fired bool
}

// firing is one window's result to compute: its key, bounds and elements.
type firing[K comparable, T any] struct {
	key    K
	keySeq uint64
	span   span
	items  []T
	late   bool // fired again by a late element
}

func newWindower[K comparable, T any](spec WindowSpec, lateness int64) *windower[K, T] {
	return &windower[K, T]{spec: spec, lateness: lateness, watermark: math.MinInt64, keys: map[K]*keyWindows[T]{}}
}

func (w *windower[K, T]) key(k K) *keyWindows[T] {
	kw := w.keys[k]
	if kw == nil {
		kw = &keyWindows[T]{seq: w.nextSeq}
		w.nextSeq++
		w.keys[k] = kw
	}
	return kw
}

// expired reports whether a window ending at end is past its lateness.
func (w *windower[K, T]) expired(end int64) bool {
	if w.watermark == math.MinInt64 {
		return false
	}
	limit := w.watermark - w.lateness
	if limit > w.watermark { // wrapped below math.MinInt64
		return false
	}
	return end <= limit
}

// add puts x (of key k, at ts) into its windows. It returns the firings the
// element caused (count windows filling up, late firings) and whether it
// was late for every window it belongs to, or in none (a sliding gap).
func (w *windower[K, T]) add(k K, ts int64, x T) (fired []firing[K, T], late bool, err error) {
	if w.spec.byCount() {
		return w.addCounted(k, x), false, nil
	}
	spans, err := w.spec.assign(ts)
	if err != nil {
		return nil, false, err
	}
	late = true
	for _, sp := range spans {
		if w.spec.kind == sessionTime {
			sp = w.sessionSpan(k, sp)
		}
		if w.expired(sp.end) {
			continue
		}
		late = false
		kw := w.key(k)
		p := kw.pane(sp, w.spec.kind == sessionTime)
		p.items = append(p.items, x)
		if sp.end <= w.watermark {
			p.fired = true
			fired = append(fired, w.fire(k, kw, p, true))
		}
	}
	return fired, late, nil
}

// sessionSpan grows sp to cover the key's sessions it overlaps.
func (w *windower[K, T]) sessionSpan(k K, sp span) span {
	if kw := w.keys[k]; kw != nil {
		for _, p := range kw.panes {
			if p.overlaps(sp) {
				sp = span{min(sp.start, p.start), max(sp.end, p.end)}
			}
		}
	}
	return sp
}

// pane returns the key's pane for sp, creating it; with merge, the panes
// sp overlaps are merged into it, elements in start order.
func (kw *keyWindows[T]) pane(sp span, merge bool) *pane[T] {
	i := sort.Search(len(kw.panes), func(i int) bool { return kw.panes[i].start >= sp.start })
	if !merge {
		if i < len(kw.panes) && kw.panes[i].span == sp {
			return kw.panes[i]
		}
		p := &pane[T]{span: sp}
		kw.panes = append(kw.panes[:i], append([]*pane[T]{p}, kw.panes[i:]...)...)
		return p
	}
	merged := &pane[T]{span: sp}
	kept := kw.panes[:0:0]
	for _, p := range kw.panes {
		if p.overlaps(sp) {
			merged.items = append(merged.items, p.items...)
		} else {
			kept = append(kept, p)
		}
	}
	i = sort.Search(len(kept), func(i int) bool { return kept[i].start >= sp.start })
	kw.panes = append(kept[:i], append([]*pane[T]{merged}, kept[i:]...)...)
	return merged
}

func (w *windower[K, T]) fire(k K, kw *keyWindows[T], p *pane[T], late bool) firing[K, T] {
	return firing[K, T]{key: k, keySeq: kw.seq, span: p.span, items: p.items[:len(p.items):len(p.items)], late: late}
}

// advance moves the watermark to wm (never back), firing every window that
// ends at or before it and forgetting those past their lateness. Firings
// come by window end, then start, then key (in order of first sight).
func (w *windower[K, T]) advance(wm int64) []firing[K, T] {
	if wm <= w.watermark {
		return nil
	}
	w.watermark = wm
	var fired []firing[K, T]
	for k, kw := range w.keys {
		if w.spec.byCount() {
			continue
		}
		kept := kw.panes[:0]
		for _, p := range kw.panes {
			if !p.fired && p.end <= wm {
				p.fired = true
				fired = append(fired, w.fire(k, kw, p, false))
			}
			if !w.expired(p.end) {
				kept = append(kept, p)
			}
		}
		clear(kw.panes[len(kept):])
		kw.panes = kept
		if len(kw.panes) == 0 {
			delete(w.keys, k)
		}
	}
	sortFirings(fired)
	return fired
}

// flush fires every window still open (the upstream completed): time
// windows as if the watermark reached the end of time, and the elements
// of count windows not yet fired.
func (w *windower[K, T]) flush() []firing[K, T] {
	if !w.spec.byCount() {
		return w.advance(math.MaxInt64)
	}
	var fired []firing[K, T]
	for k, kw := range w.keys {
		if kw.since > 0 {
			fired = append(fired, firing[K, T]{key: k, keySeq: kw.seq, items: kw.lastN(w.spec.count)})
		}
	}
	sortFirings(fired)
	clear(w.keys)
	return fired
}

// nextEnd is the earliest end of a window not yet fired, for a
// processing-time timer.
func (w *windower[K, T]) nextEnd() (int64, bool) {
	end, ok := int64(math.MaxInt64), false
	for _, kw := range w.keys {
		for _, p := range kw.panes {
			if !p.fired && p.end < end {
				end, ok = p.end, true
			}
		}
	}
	return end, ok
}

func (w *windower[K, T]) addCounted(k K, x T) []firing[K, T] {
	kw := w.key(k)
	kw.kept = append(kw.kept, x)
	if len(kw.kept) > w.spec.count {
		kw.kept = append(kw.kept[:0:0], kw.kept[len(kw.kept)-w.spec.count:]...)
	}
	kw.since++
	if kw.since < w.spec.every {
		return nil
	}
	f := firing[K, T]{key: k, keySeq: kw.seq, items: kw.lastN(w.spec.count)}
	kw.since = 0
	if w.spec.kind == tumblingCount {
		kw.kept = nil
	}
	return []firing[K, T]{f}
}

func (kw *keyWindows[T]) lastN(n int) []T {
	from := max(len(kw.kept)-n, 0)
	return append([]T(nil), kw.kept[from:]...)
}

func sortFirings[K comparable, T any](fs []firing[K, T]) {
	sort.Slice(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.span.end != b.span.end {
			return a.span.end < b.span.end
		}
		if a.span.start != b.span.start {
			return a.span.start < b.span.start
		}
		return a.keySeq < b.keySeq
	})
}
