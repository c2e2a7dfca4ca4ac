package actor

import "sync"

// queue is an unbounded FIFO safe for many producers and one consumer: a
// ring buffer under a mutex that grows by doubling and shrinks back when a
// burst has drained, so an idle mailbox holds little memory.
type queue struct {
	mu   sync.Mutex
	buf  []any // guarded by mu; len(buf) is a power of two or zero
	head int   // guarded by mu; index of the oldest item
	n    int   // guarded by mu; number of items
}

// minQueueCap is the capacity a queue allocates on its first push.
const minQueueCap = 4

func (q *queue) push(m any) {
	q.mu.Lock()
	if q.n == len(q.buf) {
		q.resize(max(minQueueCap, 2*len(q.buf)))
	}
	q.buf[(q.head+q.n)&(len(q.buf)-1)] = m
	q.n++
	q.mu.Unlock()
}

// pop returns the oldest item, or nil when the queue is empty.
func (q *queue) pop() any {
	q.mu.Lock()
	if q.n == 0 {
		if len(q.buf) > 4*minQueueCap {
			q.buf, q.head = nil, 0 // release a drained burst's buffer
		}
		q.mu.Unlock()
		return nil
	}
	m := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
	q.mu.Unlock()
	return m
}

// drain appends every item to into, oldest first, and empties the queue:
// one lock for a whole batch keeps a busy consumer off the producers' lock.
func (q *queue) drain(into []any) []any {
	q.mu.Lock()
	for i := 0; i < q.n; i++ {
		j := (q.head + i) & (len(q.buf) - 1)
		into = append(into, q.buf[j])
		q.buf[j] = nil
	}
	q.head, q.n = 0, 0
	q.mu.Unlock()
	return into
}

func (q *queue) resize(size int) {
	next := make([]any, size)
	for i := 0; i < q.n; i++ {
		next[i] = q.buf[(q.head+i)&(len(q.buf)-1)]
	}
	q.buf, q.head = next, 0
}
