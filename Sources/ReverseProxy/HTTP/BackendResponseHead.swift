import HTTPCore

/// A backend's response head, as HTTPCore's `ResponseParser` parses it. The
/// proxy's name for it: the runtime and cache code read "backend" where the
/// head came from.
public typealias BackendResponseHead = HTTPResponseHead
