package component

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/component/componentpb"
	"github.com/packetflow/packetflow/intent"
)

// ServiceKind is the reactor kind of the component service every member
// with a Host serves for its own components. A node must list it in
// cluster.NodeConfig.MemberKinds: its intents are addressed to a member
// ("n2/cache" for component cache on n2, "n2" for n2's listing).
const ServiceKind = "pf.component"

// Define registers the component service on the host's runtime: the
// "component" capabilities (admin ⇒ send ⇒ read), the intents
// componentpb.Message (requires component:send) and componentpb.List
// (component:read), and the service reactor. Call it from
// cluster.NodeConfig.Define (or once on a lone runtime) before Start.
func (h *Host) Define() error {
	rt := h.rt
	if err := rt.DefineSchema("component", []string{"read", "send", "admin"},
		capability.Implies("admin", "send"), capability.Implies("send", "read")); err != nil {
		return err
	}
	if _, err := intent.Register(rt.Types(), intent.Spec[*componentpb.Message]{
		Kind: ServiceKind, Requires: []string{"component:send"}, IdentityField: "target"}); err != nil {
		return err
	}
	if _, err := intent.Register(rt.Types(), intent.Spec[*componentpb.List]{
		Kind: ServiceKind, Requires: []string{"component:read"}, IdentityField: "member", Idempotent: true}); err != nil {
		return err
	}
	service := actor.NewReactor[struct{}](ServiceKind, nil)
	actor.Handle(service, func(c *actor.Call, _ struct{}, in *componentpb.Message) (struct{}, *componentpb.Reply, error) {
		reply, err := h.serve(c, in)
		return struct{}{}, reply, err
	})
	actor.Handle(service, func(_ *actor.Call, _ struct{}, in *componentpb.List) (struct{}, *componentpb.Listing, error) {
		if in.GetMember() != h.member {
			return struct{}{}, nil, fmt.Errorf("%w: this is member %s, not %s", ErrNotFound, h.member, in.GetMember())
		}
		out := &componentpb.Listing{}
		for _, e := range h.Local() {
			out.Entries = append(out.Entries, e.proto())
		}
		return struct{}{}, out, nil
	})
	return rt.Register(service)
}

// serve delivers a Message from another member to a local component. A
// send returns once the message is queued, so that priorities order the
// mailbox; a request waits for the reply within the intent's deadline.
func (h *Host) serve(c *actor.Call, in *componentpb.Message) (*componentpb.Reply, error) {
	member, id, ok := strings.Cut(in.GetTarget(), "/")
	if !ok || member != h.member {
		return nil, fmt.Errorf("%w: target %q is not a component of member %s", ErrNotFound, in.GetTarget(), h.member)
	}
	if in.GetBody() == nil {
		return nil, fmt.Errorf("%w: a message without a body", intent.ErrInvalid)
	}
	msg, err := in.GetBody().UnmarshalNew()
	if err != nil {
		return nil, fmt.Errorf("%w: message body %s: %v", intent.ErrInvalid, in.GetBody().GetTypeUrl(), err)
	}
	ctx, cancel := context.Background(), context.CancelFunc(func() {})
	if d := c.Envelope().Deadline; !d.IsZero() {
		ctx, cancel = context.WithDeadline(ctx, d)
	}
	defer cancel()
	e := &envelope{msg: msg, priority: Priority(min(max(in.GetPriority(), 0), 7)), deadline: deadlineOf(ctx)}
	reply, err := h.post(ctx, id, e, in.GetWantReply())
	if err != nil {
		return nil, err
	}
	return packReply(reply)
}

func packReply(reply proto.Message) (*componentpb.Reply, error) {
	if reply == nil {
		return &componentpb.Reply{}, nil
	}
	body, err := anypb.New(reply)
	if err != nil {
		return nil, fmt.Errorf("component: packing the reply %T: %w", reply, err)
	}
	return &componentpb.Reply{Body: body}, nil
}
