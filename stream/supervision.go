package stream

// Directive is a decider's answer to a stage's error.
type Directive int

const (
	// Stop fails the pipeline with the error (the default).
	Stop Directive = iota
	// Resume drops the element being processed, counts it in
	// StageStats.Errors, and goes on.
	Resume
	// Restart drops the element and the stage's state (a partial batch,
	// open windows, buffered elements), counts a restart in
	// StageStats.Restarts, and goes on with fresh state. Demand already
	// exchanged with the neighbours is kept.
	Restart
)

func (d Directive) String() string {
	switch d {
	case Resume:
		return "resume"
	case Restart:
		return "restart"
	default:
		return "stop"
	}
}

// Decider is a stage's supervisor: it decides what an error of the stage
// (a returned error, a panic of user code, a denied intent of a reactor
// sink) does. It runs on the stage's actor and must not block; a panic in
// it means Stop.
type Decider func(err error) Directive

// ResumeAlways is a Decider that drops every failing element.
func ResumeAlways(error) Directive { return Resume }

// RestartAlways is a Decider that restarts the stage on every error.
func RestartAlways(error) Directive { return Restart }

// StageOption configures one stage of a blueprint.
type StageOption func(*stageOptions)

type stageOptions struct {
	name        string
	decider     Decider
	parallelism int
	errs        []error
}

// Name names the stage in StageStats and errors.
func Name(name string) StageOption { return func(o *stageOptions) { o.name = name } }

// Supervise sets the stage's decider. Without it an error stops the
// pipeline.
func Supervise(d Decider) StageOption {
	return func(o *stageOptions) {
		if d == nil {
			o.errs = append(o.errs, invalid("Supervise", "nil decider"))
		}
		o.decider = d
	}
}

// Parallelism bounds how many intents a ToReactor sink has in flight at
// once. Zero: 1, which delivers intents in stream order.
func Parallelism(n int) StageOption {
	return func(o *stageOptions) {
		if n <= 0 {
			o.errs = append(o.errs, invalid("Parallelism", "%d is not positive", n))
		}
		o.parallelism = n
	}
}

func applyOptions(opts []StageOption) stageOptions {
	var o stageOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}
