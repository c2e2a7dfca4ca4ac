// Command demo runs the PacketFlow quick start (the counter) in-process.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/packetflow/packetflow/examples/counter"
)

func main() {
	if err := counter.Demo(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
