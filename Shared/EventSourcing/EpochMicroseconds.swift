public import Foundation

extension Date {
    /// Whole microseconds since 1970, rounded: a time read from PostgreSQL or from an event's
    /// header comes back to exactly the microsecond it was. (PostgresNIO truncates a `Date` when
    /// it encodes one, which can lose a microsecond to floating point.) Set-based writes pass
    /// times as these integers and turn them into `timestamptz` in SQL with
    /// `'epoch'::timestamptz + x * interval '1 microsecond'`, exactly as `COPY` loads
    /// `CopyText.timestamp`.
    ///
    /// Never traps: envelopes refuse times outside 1970...9999, and a time beyond what an
    /// `Int64` holds (only code could make one) is clamped rather than crashing the process.
    public var epochMicroseconds: Int64 {
        let micros = (timeIntervalSince1970 * 1_000_000).rounded()
        guard micros.isFinite else { return micros > 0 ? .max : .min }
        return Int64(exactly: micros) ?? (micros > 0 ? .max : .min)
    }
}
