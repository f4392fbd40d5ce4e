// Package analytics is the pure part of Playgram's analytics engine: calendar buckets in a workspace's time
// zone (DST-correct), percentiles, PostHog-style funnels and retention, hour-of-week heatmaps and first/last
// touch attribution. It knows nothing about PocketBase; the analytics package loads events and calls it.
package analytics
