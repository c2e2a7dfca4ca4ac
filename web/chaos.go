package web

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/packetflow/packetflow/supervision/fault"
)

// ChaosCapability is what a principal needs to read or change the node's
// fault injection (GET and PUT /v1/chaos).
const ChaosCapability = "chaos:inject"

// ChaosRule is one fault rule in the /v1/chaos body (see fault.Rule).
type ChaosRule struct {
	Kind   string  `json:"kind,omitempty"`
	Type   string  `json:"type,omitempty"`
	Rate   float64 `json:"rate"`
	Action string  `json:"action"`          // "panic", "stop", "drop" or "delay"
	Delay  string  `json:"delay,omitempty"` // Go duration, for delay
}

// ChaosState is the body of GET /v1/chaos and of a PUT's answer; a PUT
// sends {"rules":[…]} (an empty list clears them).
type ChaosState struct {
	Seed     uint64           `json:"seed,string"`
	Rules    []ChaosRule      `json:"rules"`
	Injected map[string]int64 `json:"injected"`
}

// serveChaos serves GET and PUT /v1/chaos; the router has checked
// ChaosCapability.
func (h *Handler) serveChaos(w http.ResponseWriter, r *http.Request) {
	if h.faults == nil {
		writeError(w, newError(http.StatusNotFound, codeNotFound, "fault injection is off on this node (start it with --chaos)"))
		return
	}
	if r.Method == http.MethodPut {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
		if err != nil {
			writeError(w, newError(http.StatusRequestEntityTooLarge, codeTooLarge, "body over 64 KiB"))
			return
		}
		var req struct {
			Rules []ChaosRule `json:"rules"`
		}
		if err := decodeStrict(body, &req); err != nil {
			writeError(w, newError(http.StatusBadRequest, codeInvalidArgument, "body: "+err.Error()))
			return
		}
		rules := make([]fault.Rule, 0, len(req.Rules))
		for i, cr := range req.Rules {
			fr, err := cr.rule()
			if err != nil {
				writeError(w, newError(http.StatusBadRequest, codeInvalidArgument, fmt.Sprintf("rules[%d]: %v", i, err)))
				return
			}
			rules = append(rules, fr)
		}
		if err := h.faults.Set(rules...); err != nil {
			writeError(w, newError(http.StatusBadRequest, codeInvalidArgument, err.Error()))
			return
		}
		h.log.Warn("CHAOS: fault injection rules changed", "principal", Caller(r).Principal, "rules", fmt.Sprint(rules))
	}
	writeJSON(w, http.StatusOK, h.chaosState())
}

func (cr ChaosRule) rule() (fault.Rule, error) {
	r := fault.Rule{Kind: cr.Kind, Type: cr.Type, Rate: cr.Rate}
	switch strings.ToLower(cr.Action) {
	case "panic":
		r.Action = fault.Panic
	case "stop":
		r.Action = fault.Stop
	case "drop":
		r.Action = fault.Drop
	case "delay":
		r.Action = fault.Delay
		d, err := time.ParseDuration(cr.Delay)
		if err != nil {
			return r, fmt.Errorf("delay %q: %v", cr.Delay, err)
		}
		r.Delay = d
	default:
		return r, fmt.Errorf("action %q: want panic, stop, drop or delay", cr.Action)
	}
	return r, nil
}

func (h *Handler) chaosState() ChaosState {
	st := ChaosState{Seed: h.faults.Seed(), Rules: []ChaosRule{}, Injected: map[string]int64{}}
	for _, r := range h.faults.Rules() {
		cr := ChaosRule{Kind: r.Kind, Type: r.Type, Rate: r.Rate, Action: r.Action.String()}
		if r.Action == fault.Delay {
			cr.Delay = r.Delay.String()
		}
		st.Rules = append(st.Rules, cr)
	}
	for a, n := range h.faults.Counts() {
		st.Injected[a.String()] = n
	}
	return st
}
