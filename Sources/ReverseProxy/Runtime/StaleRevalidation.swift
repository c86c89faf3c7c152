import CapuchinServer
import CapuchinSystem
import HTTPCore

/// What an exchange that revalidates (or refetches) a stale stored response
/// does besides relaying: a 304 refreshes the stored headers and freshness
/// (RFC 9111 4.3.4) and the client gets the stored body; an origin error
/// (5xx, or no backend answering) within stale-if-error or the grace gets the
/// stale response (RFC 5861). A 200 is relayed and replaces the stored one
/// through the exchange's cache fill. Worker-thread only.
struct StaleRevalidation {
    let cache: ProxyCache
    let stale: CachedObject
    let staleIfError: Bool
    /// The client's request (its preconditions and Range apply to what it gets).
    let request: HTTPRequest
    let via: String
    /// nil for a background refresh: nobody to answer.
    let client: ExchangeClient?

    func attach(to exchange: UpstreamExchange) {
        let requestTime = Clock.wallNanos() / 1_000_000_000
        exchange.interceptHead = { head in
            if head.status == 304 { return notModified(head.headers, requestTime: requestTime) }
            if staleIfError && HTTPCacheRules.isServerError(head.status) { return serveStale(originStatus: head.status) }
            return nil
        }
        exchange.onGiveUp = { staleIfError ? serveStale(originStatus: nil) : nil }
    }

    private func notModified(_ headers: HTTPHeaders, requestTime: Int64) -> UpstreamExchange.Outcome {
        let now = Clock.wallNanos() / 1_000_000_000
        guard var merged = Revalidation.merge(notModified: headers, into: stale.response, requestTime: requestTime, responseTime: now) else {
            // The 304 validates another response: serve this one a last time,
            // then drop it so the next request fetches the current one.
            let outcome = serveStale(originStatus: 304)
            cache.store.remove(key: stale.entry.key)
            return outcome
        }
        // A 304's tag fields are not stored, as the 200's were not (the tags stay those of the 200).
        cache.rules.tagging.strip(&merged.headers)
        let updated = cache.store.updateMetadata(of: stale, to: merged)
        answer(updated, served: .revalidated)
        return .stored(updated)
    }

    private func serveStale(originStatus: Int?) -> UpstreamExchange.Outcome {
        answer(stale, served: .staleIfError(status: originStatus))
        return .failed
    }

    private func answer(_ object: CachedObject, served: ProxyCache.Served) {
        guard let client else { return }
        let now = Clock.wallNanos() / 1_000_000_000
        client.respond(cache.response(for: object, request: request, now: now, via: via, served: served) ?? ErrorPage.response(502))
    }
}
