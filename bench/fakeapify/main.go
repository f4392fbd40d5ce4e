// Command fakeapify runs the in-memory Apify fake (internal/fakes/apify) on a loopback port for loopback
// benchmarks and demos, and prints its base URL on the first line of stdout. It stops on SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	fake "github.com/playgram/playgram/internal/fakes/apify"
)

func main() {
	run := flag.Duration("run", 50*time.Millisecond, "how long every actor run takes")
	flag.Parse()
	f := fake.New()
	defer f.Close()
	f.Set(func(s *fake.Server) { s.RunDuration = *run })
	fmt.Println(f.URL)
	fmt.Fprintf(os.Stderr, "fake Apify at %s, token %s\n", f.URL, fake.Token)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
}
