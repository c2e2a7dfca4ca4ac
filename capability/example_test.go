package capability_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/packetflow/packetflow/capability"
)

func Example() {
	file, err := capability.NewSchema("file",
		[]string{"read", "write", "delete", "admin"},
		capability.Implies("admin", "delete"),
		capability.Implies("delete", "write"),
		capability.Implies("write", "read"),
	)
	if err != nil {
		panic(err)
	}
	catalog := capability.NewCatalog()
	if err := catalog.Define(file); err != nil {
		panic(err)
	}

	// What an intent needs, compiled once.
	reqs, err := catalog.Require(
		capability.MustParse("file:read:/docs/reports/q1.txt"),
		capability.MustParse("file:delete:/etc/passwd"),
	)
	if err != nil {
		panic(err)
	}
	// What the caller holds.
	grants, err := catalog.Grants(capability.Grant{Capability: capability.MustParse("file:write:/docs/*")})
	if err != nil {
		panic(err)
	}

	err = grants.Check(reqs, time.Now())
	fmt.Println(err)
	fmt.Println(errors.Is(err, capability.ErrPermissionDenied))
	// Output:
	// permission denied: missing file:delete:/etc/passwd
	// true
}

func ExampleParse() {
	c, err := capability.Parse("file:read:/docs/../etc/passwd")
	fmt.Println(c, err)
	fmt.Println(capability.Covers("/docs/*", c.Resource))

	_, err = capability.Parse("file::x")
	fmt.Println(err)
	// Output:
	// file:read:/etc/passwd <nil>
	// false
	// capability: invalid "file::x" at offset 5: empty operation
}

func ExampleGrantSet_Narrow() {
	catalog := capability.NewCatalog()
	file, _ := capability.NewSchema("file", []string{"read", "write"}, capability.Implies("write", "read"))
	_ = catalog.Define(file)

	held, _ := catalog.Grants(capability.Grant{Capability: capability.MustParse("file:write:/docs/*")})
	limit, _ := catalog.Require(capability.MustParse("file:read:/docs/public/*"))
	for _, g := range held.Narrow(limit).Grants() {
		fmt.Println(g)
	}
	// Output:
	// file:read:/docs/public/*
}
