package counter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
)

// Demo runs the quick start in-process and prints each step to w: a basic
// user increments, is denied a reset (missing user:admin), an admin resets
// and, since admin implies basic, increments. It returns an error if any
// step's outcome is not the expected one.
func Demo(ctx context.Context, w io.Writer) error {
	rt, err := actor.NewRuntime(actor.Config{Name: "demo"})
	if err != nil {
		return err
	}
	defer rt.Stop()
	notes := make(chan string, 16)
	if err := Define(rt, func(s string) { notes <- s }); err != nil {
		return err
	}
	alice, err := rt.NewContext("alice", "user:basic")
	if err != nil {
		return err
	}
	root, err := rt.NewContext("root", "user:admin")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	effect := func() error {
		select {
		case s := <-notes:
			fmt.Fprintf(w, "    effect: %s\n", s)
			return nil
		case <-ctx.Done():
			return fmt.Errorf("demo: effect did not run: %w", ctx.Err())
		}
	}

	fmt.Fprintln(w, "PacketFlow quick start: counter \"clicks\"; alice holds user:basic, root holds user:admin (admin implies basic)")
	for i := int64(1); i <= 3; i++ {
		reply, err := rt.Request(ctx, alice, &counterpb.Increment{Counter: "clicks", UserId: "alice"})
		if err != nil {
			return fmt.Errorf("demo: increment by alice: %w", err)
		}
		got := reply.(*counterpb.Value).Count
		fmt.Fprintf(w, "alice increments       -> ok, count = %d\n", got)
		if got != i {
			return fmt.Errorf("demo: count is %d after %d increments", got, i)
		}
		if err := effect(); err != nil {
			return err
		}
	}

	_, err = rt.Request(ctx, alice, &counterpb.Reset{Counter: "clicks", UserId: "alice"})
	var denied *capability.DeniedError
	if !errors.As(err, &denied) {
		return fmt.Errorf("demo: reset by alice should be denied, got %v", err)
	}
	fmt.Fprintf(w, "alice resets           -> denied: %v\n", err)

	reply, err := rt.Request(ctx, alice, &counterpb.Get{Counter: "clicks"})
	if err != nil {
		return fmt.Errorf("demo: get: %w", err)
	}
	fmt.Fprintf(w, "alice reads            -> count = %d (the denied reset changed nothing)\n", reply.(*counterpb.Value).Count)

	if _, err := rt.Request(ctx, root, &counterpb.Reset{Counter: "clicks", UserId: "root"}); err != nil {
		return fmt.Errorf("demo: reset by root: %w", err)
	}
	fmt.Fprintln(w, "root resets            -> ok, count = 0")
	if err := effect(); err != nil {
		return err
	}
	reply, err = rt.Request(ctx, root, &counterpb.Increment{Counter: "clicks", UserId: "root"})
	if err != nil {
		return fmt.Errorf("demo: increment by root: %w", err)
	}
	fmt.Fprintf(w, "root increments        -> ok, count = %d (user:admin implies user:basic)\n", reply.(*counterpb.Value).Count)
	if err := effect(); err != nil {
		return err
	}
	st := rt.Stats()
	fmt.Fprintf(w, "stats: handled=%d denied=%d effects=%d\n", st.Handled, st.Denied, st.EffectsRun)
	return nil
}
