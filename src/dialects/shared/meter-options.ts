/** Options every stream meter accepts. */
export interface StreamMeterOptions {
  /**
   * Use the parse-free shortcuts for events that cannot carry usage (default true). Turning them off makes the meter
   * JSON-parse every event; tests run both ways and compare, and the benchmark measures the difference.
   */
  shortcuts?: boolean;
}
