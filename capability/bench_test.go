package capability_test

import (
	"testing"
	"time"

	"github.com/packetflow/packetflow/capability"
)

// benchSet is ten grants over file (admin ⇒ delete ⇒ write ⇒ read, list)
// and user, where only the last satisfies file:read:/docs/reports/2025/q1.txt;
// the others fail at different steps of the check.
func benchSet(b *testing.B) (*capability.GrantSet, capability.Requirements, time.Time) {
	c := testCatalog(b)
	now := t0
	window := func(s string, nbf, naf time.Time) capability.Grant {
		return capability.Grant{Capability: capability.MustParse(s), NotBefore: nbf, NotAfter: naf}
	}
	grants := []capability.Grant{
		grant("user:basic"),                     // other domain
		grant("user:admin:alice"),               // other domain
		grant("file:admin:/etc/*"),              // other subtree
		grant("file:read:/docs/reports/2024/*"), // sibling subtree
		grant("file:write:/docsx/*"),            // prefix trap
		grant("file:delete:/docs/reports/2025"), // exact parent
		window("file:admin:/docs/*", now.Add(-2*time.Hour), now.Add(-time.Hour)), // expired
		grant("file:list:/docs/*"),                                            // op does not imply read
		grant("file:read:/docs/reports/2025/q2.txt"),                          // exact sibling
		window("file:admin:/docs/*", now.Add(-time.Hour), now.Add(time.Hour)), // satisfies: admin ⇒ delete ⇒ write ⇒ read
	}
	gs := mustGrants(b, c, grants...)
	reqs := mustRequire(b, c, "file:read:/docs/reports/2025/q1.txt")
	if gs.Len() != 10 || !gs.Satisfies(reqs, now) {
		b.Fatal("benchmark set does not satisfy")
	}
	last := gs.Grants()[9]
	if gs.Filter(func(g capability.Grant) bool { return g != last }).Satisfies(reqs, now) {
		b.Fatal("a grant other than the last satisfies")
	}
	return gs, reqs, now
}

func BenchmarkCheck10Grants4Levels(b *testing.B) {
	gs, reqs, now := benchSet(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := gs.Check(reqs, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSatisfies10Grants4Levels(b *testing.B) {
	gs, reqs, now := benchSet(b)
	b.ReportAllocs()
	for b.Loop() {
		if !gs.Satisfies(reqs, now) {
			b.Fatal("denied")
		}
	}
}

func BenchmarkCheckDenied10Grants(b *testing.B) {
	gs, _, now := benchSet(b)
	reqs := mustRequire(b, testCatalog(b), "file:read:/srv/x")
	b.ReportAllocs()
	for b.Loop() {
		if gs.Check(reqs, now) == nil {
			b.Fatal("allowed")
		}
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := capability.Parse("file:read:/docs/reports/2025/q1.txt"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseClean(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := capability.Parse("file:read:/docs/./reports//../reports/2025/q1.txt"); err != nil {
			b.Fatal(err)
		}
	}
}
