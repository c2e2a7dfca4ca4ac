// Command demo runs the PacketFlow file system example in-process.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/packetflow/packetflow/examples/filesystem"
)

func main() {
	if err := filesystem.Demo(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
