package componenttest

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"sync"
	"time"
)

// Report collects the outcome of checks on components (for example a
// smoke test of a deployment) and writes it as text, JSON or JUnit XML for
// CI systems. Safe for concurrent use.
type Report struct {
	Name string

	mu    sync.Mutex
	cases []Case
}

// Case is one check's outcome.
type Case struct {
	Name     string        `json:"name"`
	Duration time.Duration `json:"duration_ns"`
	// Failure is empty when the check passed.
	Failure string `json:"failure,omitempty"`
}

// Run runs check and records its outcome under name; a panic is a failure.
func (r *Report) Run(name string, check func() error) (err error) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
		c := Case{Name: name, Duration: time.Since(start)}
		if err != nil {
			c.Failure = err.Error()
		}
		r.mu.Lock()
		r.cases = append(r.cases, c)
		r.mu.Unlock()
	}()
	return check()
}

// Cases returns the outcomes so far, in the order they finished.
func (r *Report) Cases() []Case {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Case(nil), r.cases...)
}

// Failed is how many checks failed.
func (r *Report) Failed() int {
	n := 0
	for _, c := range r.Cases() {
		if c.Failure != "" {
			n++
		}
	}
	return n
}

// WriteText writes one line per check and a summary.
func (r *Report) WriteText(w io.Writer) error {
	cases := r.Cases()
	for _, c := range cases {
		verdict := "PASS"
		if c.Failure != "" {
			verdict = "FAIL"
		}
		line := fmt.Sprintf("%s %s (%v)", verdict, c.Name, c.Duration.Round(time.Microsecond))
		if c.Failure != "" {
			line += ": " + c.Failure
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "%s: %d checks, %d failed\n", r.Name, len(cases), r.Failed())
	return err
}

// WriteJSON writes {"name", "tests", "failures", "cases": [...]}.
func (r *Report) WriteJSON(w io.Writer) error {
	cases := r.Cases()
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Name     string `json:"name"`
		Tests    int    `json:"tests"`
		Failures int    `json:"failures"`
		Cases    []Case `json:"cases"`
	}{r.Name, len(cases), r.Failed(), cases})
}

type junitSuite struct {
	XMLName  xml.Name    `xml:"testsuite"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name    string        `xml:"name,attr"`
	Class   string        `xml:"classname,attr"`
	Time    string        `xml:"time,attr"`
	Failure *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes a JUnit XML <testsuite>, as CI systems read it.
func (r *Report) WriteJUnit(w io.Writer) error {
	cases := r.Cases()
	s := junitSuite{Name: r.Name, Tests: len(cases), Failures: r.Failed()}
	var total time.Duration
	for _, c := range cases {
		total += c.Duration
		jc := junitCase{Name: c.Name, Class: r.Name, Time: seconds(c.Duration)}
		if c.Failure != "" {
			jc.Failure = &junitFailure{Message: c.Failure, Text: c.Failure}
		}
		s.Cases = append(s.Cases, jc)
	}
	s.Time = seconds(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.6f", d.Seconds()) }
