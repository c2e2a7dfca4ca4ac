// Command stream runs the stream example: sensor readings arrive as intents
// at a gateway reactor, a pipeline of actors averages them per sensor over
// sliding event-time windows, and averages over the threshold become alert
// intents to an alarm reactor, through its capability check.
package main

import (
	"context"
	"fmt"
	"os"
	"time"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := Run(ctx, func(s string) { fmt.Println(s) }); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
