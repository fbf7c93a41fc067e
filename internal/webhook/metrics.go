package webhook

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus collectors of deliveries.
type Metrics struct {
	attempts        *prometheus.CounterVec
	deliveries      *prometheus.CounterVec
	attemptDuration prometheus.Histogram
	latency         prometheus.Histogram
}

// NewMetrics registers the delivery collectors with reg. The queue lag
// gauge asks the store for the oldest due delivery at each scrape.
func NewMetrics(reg prometheus.Registerer, s Store, now func() time.Time) *Metrics {
	m := &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "troth_webhook_attempts_total",
			Help: "Webhook delivery attempts by outcome (succeeded, http_error, network_error, redirect, gone, skipped).",
		}, []string{"outcome"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "troth_webhook_deliveries_total",
			Help: "Webhook deliveries finished, by final status (succeeded, failed).",
		}, []string{"status"}),
		attemptDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "troth_webhook_attempt_duration_seconds",
			Help:    "Time from sending a webhook request to reading its response.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15},
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "troth_webhook_delivery_latency_seconds",
			Help:    "Time from an event's commit to its successful delivery.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400},
		}),
	}
	lag := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "troth_webhook_queue_lag_seconds",
		Help: "How long the oldest due webhook delivery has been waiting (0 when none waits).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		t := now()
		oldest, err := s.OldestDue(ctx, t)
		if err != nil || oldest == nil {
			return 0
		}
		return max(t.Sub(*oldest).Seconds(), 0)
	})
	reg.MustRegister(m.attempts, m.deliveries, m.attemptDuration, m.latency, lag)
	return m
}
