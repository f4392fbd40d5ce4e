package webhooks

// SetFault makes the engine call f at named points ("dispatch": before the cursor moves; "record": before
// results are written); an error aborts that step, as a crash there would.
func SetFault(e *Engine, f func(stage string) error) { e.fault = f }
