package component

import (
	"fmt"
	"slices"
	"strings"
)

// startOrder returns defs ordered so that every component comes after its
// dependencies (ties keep the definition order), or an error naming a
// missing dependency or the components of a cycle.
func startOrder(defs []Definition) ([]Definition, error) {
	byID := make(map[string]int, len(defs))
	for i, d := range defs {
		if _, dup := byID[d.ID]; dup {
			return nil, fmt.Errorf("%w: two components have the id %q", ErrDefinition, d.ID)
		}
		byID[d.ID] = i
	}
	for _, d := range defs {
		for _, dep := range d.DependsOn {
			if _, ok := byID[dep]; !ok {
				return nil, fmt.Errorf("%w: %s depends on %s, which is not defined", ErrDefinition, d.ID, dep)
			}
		}
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := make([]int, len(defs))
	out := make([]Definition, 0, len(defs))
	var path []string
	var visit func(i int) error
	visit = func(i int) error {
		switch state[i] {
		case done:
			return nil
		case visiting:
			from := slices.Index(path, defs[i].ID)
			cycle := append(slices.Clone(path[from:]), defs[i].ID)
			return fmt.Errorf("%w: dependency cycle %s", ErrDefinition, strings.Join(cycle, " → "))
		}
		state[i] = visiting
		path = append(path, defs[i].ID)
		for _, dep := range defs[i].DependsOn {
			if err := visit(byID[dep]); err != nil {
				return err
			}
		}
		path = path[:len(path)-1]
		state[i] = done
		out = append(out, defs[i])
		return nil
	}
	for i := range defs {
		if err := visit(i); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// dependents returns the ids of the components that depend on id, directly
// or not, in stop order (those started last first).
func dependents(order []Definition, id string) []string {
	needs := map[string]bool{id: true}
	var out []string
	for _, d := range order { // start order: dependencies come first
		for _, dep := range d.DependsOn {
			if needs[dep] {
				needs[d.ID] = true
				out = append(out, d.ID)
				break
			}
		}
	}
	slices.Reverse(out)
	return out
}

// dependencies returns the ids id depends on, directly or not, in start
// order.
func dependencies(order []Definition, id string) []string {
	byID := map[string]Definition{}
	for _, d := range order {
		byID[d.ID] = d
	}
	want := map[string]bool{}
	var mark func(string)
	mark = func(x string) {
		for _, dep := range byID[x].DependsOn {
			if !want[dep] {
				want[dep] = true
				mark(dep)
			}
		}
	}
	mark(id)
	var out []string
	for _, d := range order {
		if want[d.ID] {
			out = append(out, d.ID)
		}
	}
	return out
}
