//! Pure theme and sentiment analysis for parley's commissioners.
