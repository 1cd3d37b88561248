#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Work split across threads: `run` calls a body once per worker, the calling thread being the
/// first, and returns when every worker has finished. Each worker takes its own share of the work
/// (by its number), so nothing is shared but what the body reads.
public enum Workers {
    /// The processors online, at least one.
    public static let available = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))

    /// Calls `body(worker)` for worker 0..<count at the same time; worker 0 on this thread.
    public static func run(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        guard count > 1 else {
            if count == 1 { body(0) }
            return
        }
        var threads: [pthread_t] = []
        for worker in 1..<count {
            let job = Unmanaged.passRetained(Job(body: body, worker: worker)).toOpaque()
            var thread = pthread_t()
            if pthread_create(&thread, nil, { context in
                let job = Unmanaged<Job>.fromOpaque(context!).takeRetainedValue()
                job.body(job.worker)
                return nil
            }, job) == 0 {
                threads.append(thread)
            } else {
                // No thread to be had: do that share here.
                let job = Unmanaged<Job>.fromOpaque(job).takeRetainedValue()
                job.body(job.worker)
            }
        }
        body(0)
        for thread in threads { pthread_join(thread, nil) }
    }

    /// Calls `body(worker, item)` for every item in 0..<items, on `workers` threads that take the
    /// next few items as they finish the last, so a thread that is slowed (by other work on the
    /// machine, or by items that cost more) takes fewer and none waits idle for another.
    public static func forEach(_ items: Int, workers: Int, batch: Int = 4, _ body: @escaping @Sendable (_ worker: Int, _ item: Int) -> Void) {
        precondition(batch > 0, "a batch takes at least one item")
        let next = Counter()
        run(workers) { worker in
            while true {
                let first = next.value.add(batch, ordering: .relaxed).oldValue
                if first >= items { return }
                for item in first..<min(first + batch, items) { body(worker, item) }
            }
        }
    }

    private final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    private final class Job: @unchecked Sendable {
        let body: @Sendable (Int) -> Void
        let worker: Int
        init(body: @escaping @Sendable (Int) -> Void, worker: Int) {
            self.body = body
            self.worker = worker
        }
    }
}

/// Slots that workers fill, each its own: a result per item, written by the one worker that
/// takes that item, read after `Workers.run` returns.
public final class WorkerSlots<Value>: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<Value?>
    public let count: Int

    public init(_ count: Int) {
        self.count = count
        storage = UnsafeMutablePointer<Value?>.allocate(capacity: max(count, 1))
        storage.initialize(repeating: nil, count: count)
    }

    deinit {
        storage.deinitialize(count: count)
        storage.deallocate()
    }

    public subscript(index: Int) -> Value? {
        get { storage[index] }
        set { storage[index] = newValue }
    }
}
