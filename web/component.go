package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io"
	"time"

	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/intent"
)

// Component is a piece of a page that a viewer sees only when they hold
// its capabilities — the seed's capability-aware component. It is an
// html/template, so everything it prints is escaped for where it stands.
type Component struct {
	// Name is how pages use it: {{component "name" .Data}}.
	Name string
	// Requires are the capabilities a viewer needs, checked with the
	// implication hierarchy and resource patterns ("user:admin" is held by
	// a viewer granted user:admin, and by none granted only user:basic).
	// Empty: every viewer of the page.
	Requires []string
	// Template is the html/template text rendered, with the data the page
	// passes, for a viewer who holds Requires.
	Template string
	// Fallback is rendered instead, with the same data, for a viewer who
	// lacks them. Empty: the component is omitted.
	Fallback string
}

// Components is a compiled, immutable set of components, safe for
// concurrent use.
type Components struct {
	cat    *capability.Catalog
	byName map[string]*compiledComponent
}

type compiledComponent struct {
	reqs     capability.Requirements
	tmpl     *template.Template
	fallback *template.Template // nil: omitted
}

// NewComponents compiles cs against cat (a runtime's Catalog). An empty or
// repeated name, a template that does not parse and a requirement that
// does not parse or names an unknown domain or operation are errors naming
// the component.
func NewComponents(cat *capability.Catalog, cs ...Component) (*Components, error) {
	if cat == nil {
		return nil, errors.New("web: NewComponents needs a capability catalog")
	}
	set := &Components{cat: cat, byName: map[string]*compiledComponent{}}
	for _, c := range cs {
		if c.Name == "" {
			return nil, errors.New("web: a component needs a name")
		}
		if _, dup := set.byName[c.Name]; dup {
			return nil, fmt.Errorf("web: component %q declared twice", c.Name)
		}
		reqs, err := compileCaps(cat, c.Requires)
		if err != nil {
			return nil, fmt.Errorf("web: component %q: %w", c.Name, err)
		}
		cc := &compiledComponent{reqs: reqs}
		if cc.tmpl, err = template.New(c.Name).Funcs(set.Funcs()).Parse(c.Template); err != nil {
			return nil, fmt.Errorf("web: component %q: %w", c.Name, err)
		}
		if c.Fallback != "" {
			if cc.fallback, err = template.New(c.Name + ".fallback").Funcs(set.Funcs()).Parse(c.Fallback); err != nil {
				return nil, fmt.Errorf("web: component %q fallback: %w", c.Name, err)
			}
		}
		set.byName[c.Name] = cc
	}
	return set, nil
}

// compileCaps parses and compiles capability strings.
func compileCaps(cat *capability.Catalog, caps []string) (capability.Requirements, error) {
	parsed := make([]capability.Capability, 0, len(caps))
	for _, s := range caps {
		c, err := capability.Parse(s)
		if err != nil {
			return nil, err
		}
		parsed = append(parsed, c)
	}
	return cat.Require(parsed...)
}

// Holds reports whether viewer (nil: nobody signed in) holds every
// capability of caps. A capability that does not parse or that the
// catalog does not know is held by nobody.
func (cs *Components) Holds(viewer *intent.Context, caps ...string) bool {
	reqs, err := compileCaps(cs.cat, caps)
	if err != nil {
		return false
	}
	return holds(viewer, reqs)
}

func holds(viewer *intent.Context, reqs capability.Requirements) bool {
	if len(reqs) == 0 {
		return true
	}
	return viewer != nil && viewer.Grants.Satisfies(reqs, time.Now())
}

// Render renders the component name for viewer (nil: nobody signed in)
// with data: its template when viewer holds its requirements, else its
// fallback, else nothing. An unknown name is an error.
func (cs *Components) Render(viewer *intent.Context, name string, data any) (template.HTML, error) {
	c := cs.byName[name]
	if c == nil {
		return "", fmt.Errorf("web: no component %q", name)
	}
	t := c.tmpl
	if !holds(viewer, c.reqs) {
		if t = c.fallback; t == nil {
			return "", nil
		}
	}
	var b bytes.Buffer
	if err := cs.execute(&b, t, viewer, data); err != nil {
		return "", fmt.Errorf("web: component %q: %w", name, err)
	}
	return template.HTML(b.String()), nil // html/template escaped it
}

// Funcs returns the functions a page or component template that uses
// components must be parsed with: {{component "name" data}}. Executing such
// a template directly fails; Execute binds them to a viewer.
func (cs *Components) Funcs() template.FuncMap {
	return template.FuncMap{"component": func(string, any) (template.HTML, error) {
		return "", errors.New("web: a template using components must be run through Components.Execute")
	}}
}

// Execute runs t (parsed with Funcs) into w for viewer with data. t
// itself is never executed (a clone is), so it can be used again and
// concurrently.
func (cs *Components) Execute(w io.Writer, t *template.Template, viewer *intent.Context, data any) error {
	return cs.execute(w, t, viewer, data)
}

func (cs *Components) execute(w io.Writer, t *template.Template, viewer *intent.Context, data any) error {
	return cs.executeTemplate(w, t, "", viewer, data)
}

// executeTemplate runs the template name of t's set ("": t itself) as
// Execute does.
func (cs *Components) executeTemplate(w io.Writer, t *template.Template, name string, viewer *intent.Context, data any) error {
	bound, err := t.Clone()
	if err != nil {
		return err
	}
	bound.Funcs(template.FuncMap{"component": func(name string, data any) (template.HTML, error) {
		return cs.Render(viewer, name, data)
	}})
	if name == "" {
		return bound.Execute(w, data)
	}
	return bound.ExecuteTemplate(w, name, data)
}
