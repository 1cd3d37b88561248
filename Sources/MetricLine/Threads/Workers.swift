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
        var helpers: [Helper] = []
        for worker in 1..<count {
            // A waiting helper thread if one is free (it starts at once), else a new thread.
            if let helper = Helper.claim() {
                helper.start(body, worker: worker)
                helpers.append(helper)
                continue
            }
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
        for helper in helpers { helper.finish() }
        for thread in threads { pthread_join(thread, nil) }
    }

    /// Starts the helper threads `run` prefers to new ones, so that the first `run` finds them
    /// ready: a new thread, or one asleep, takes a millisecond or more to start working on a
    /// virtual machine, a large part of a small query. Call early, before work done on one thread.
    public static func prepare() {
        _ = Helper.pool
    }

    /// A thread kept for `run`: it waits for a share of work, spinning for a while after each
    /// (`spinning`) so that the next share starts at once, then asleep on a condition variable.
    private final class Helper: @unchecked Sendable {
        /// One per processor but the caller's.
        static let pool: [Helper] = (1..<available).compactMap { _ in Helper() }
        /// How long a helper spins after its last share, or after starting, in microseconds.
        static let spinning: Int64 = 50_000

        /// Taken by a `run` that gives this helper a share.
        private let claimed = Atomic<Bool>(false)
        /// 1 when a share is posted, 2 when it is done, 0 when none is pending.
        private let state = Atomic<Int>(0)
        private var body: (@Sendable (Int) -> Void)?
        private var worker = 0
        private var mutex = pthread_mutex_t()
        private var condition = pthread_cond_t()

        private init?() {
            pthread_mutex_init(&mutex, nil)
            pthread_cond_init(&condition, nil)
            var thread = pthread_t()
            let context = Unmanaged.passRetained(self).toOpaque()
            guard pthread_create(&thread, nil, { context in
                Unmanaged<Helper>.fromOpaque(context!).takeRetainedValue().serve()
                return nil
            }, context) == 0 else {
                Unmanaged<Helper>.fromOpaque(context).release()
                return nil
            }
            pthread_detach(thread)
        }

        /// A free helper, now claimed; nil if all are busy (a `run` within a `run`).
        static func claim() -> Helper? {
            pool.first { $0.claimed.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged }
        }

        func start(_ body: @escaping @Sendable (Int) -> Void, worker: Int) {
            self.body = body
            self.worker = worker
            state.store(1, ordering: .releasing)
            // Under the lock, so a helper about to sleep either sees the share or gets the signal.
            pthread_mutex_lock(&mutex)
            pthread_cond_signal(&condition)
            pthread_mutex_unlock(&mutex)
        }

        /// Waits for the share to be done, and frees the helper for another `run`.
        func finish() {
            while state.load(ordering: .acquiring) != 2 { sched_yield() }
            state.store(0, ordering: .relaxed)
            claimed.store(false, ordering: .releasing)
        }

        private func serve() {
            while true {
                let since = Clock.monotonicMicroseconds()
                while state.load(ordering: .acquiring) != 1 {
                    if Clock.monotonicMicroseconds() - since < Helper.spinning {
                        // Lets the processor go to other threads, and leaves a sibling
                        // hyperthread most of the core, while staying ready.
                        sched_yield()
                        continue
                    }
                    pthread_mutex_lock(&mutex)
                    while state.load(ordering: .acquiring) != 1 { pthread_cond_wait(&condition, &mutex) }
                    pthread_mutex_unlock(&mutex)
                }
                body?(worker)
                body = nil
                state.store(2, ordering: .releasing)
            }
        }
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
