import CapuchinSystem

/// A file the direct opener just opened for a miss, offered to the cache. The
/// cache maps or copies it from this descriptor (it never opens or stats the
/// file again) and the miss is served from that one read.
struct CandidateFile {
    /// The file's absolute path: the entry's origin, which revalidation stats.
    let path: String
    let file: OpenFile
    let identity: FileIdentity
    let contentType: String
    let etag: String
}

/// What admitting a candidate did, and the body read for it (nil: nothing was
/// read, the caller sends the candidate's descriptor).
struct Admission {
    var outcome: AdmitOutcome
    var body: MappedFile?
}
