package services

import "context"

// Staff roles.
const (
	RoleAdmin      = "admin"
	RoleSales      = "sales"
	RoleConsultant = "consultant"
)

// Roles lists the staff roles, for validation and forms.
var Roles = []string{RoleAdmin, RoleSales, RoleConsultant}

// Actor is who is doing something: a signed-in staff member, or nobody
// (a prospect, a worker). Services read it from the context to record who
// changed what.
type Actor struct {
	UserID       string
	Email        string
	Name         string
	Role         string
	ConsultantID string
	IP           string
}

// Label is how history and the audit log name the actor.
func (a Actor) Label() string {
	if a.Email != "" {
		return a.Email
	}
	return "system"
}

// Staff reports whether the actor may work the sales side (admin or sales).
func (a Actor) Staff() bool { return a.Role == RoleAdmin || a.Role == RoleSales }

// Admin reports whether the actor is an administrator.
func (a Actor) Admin() bool { return a.Role == RoleAdmin }

type actorKey struct{}

// WithActor returns ctx carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx, or the zero Actor ("system").
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}
