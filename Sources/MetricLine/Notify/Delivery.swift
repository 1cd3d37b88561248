/// Sends one notification through one integration, and says whether to try again: answers 2xx are
/// delivered; 429, 5xx and connection errors are tried again; other 4xx are not (the request
/// itself is wrong). Messages name the integration, never its URL, which may carry a token.
public struct Delivery {
    public enum Outcome: Sendable, Equatable {
        case delivered
        /// Skipped on purpose (only resolved alerts, and `send_resolved` is off).
        case skipped
        case retry(String)
        case failed(String)
    }

    public let config: NotifyConfig
    /// The first retry waits this long; each further one twice as long, up to `maximumBackoff`.
    public var initialBackoff: Int64 = 1_000
    public var maximumBackoff: Int64 = 300_000

    public init(config: NotifyConfig) {
        self.config = config
    }

    /// The integrations of `receiver`, one delivery each.
    public func integrations(of receiver: String) -> [Integration] {
        guard let found = config.receiver(named: receiver) else { return [] }
        var result: [Integration] = []
        for (kind, count) in [("webhook", found.webhooks.count), ("slack", found.slack.count), ("email", found.email.count), ("command", found.commands.count)] {
            for index in 0..<count { result.append(Integration(receiver: receiver, kind: kind, index: index)) }
        }
        return result
    }

    /// Sends `notification` through `integration`.
    public func send(_ notification: GroupNotification, through integration: Integration, now: Int64) -> Outcome {
        guard let receiver = config.receiver(named: integration.receiver) else { return .failed("receiver \"\(integration.receiver)\" is no longer configured") }
        switch integration.kind {
        case "webhook":
            guard integration.index < receiver.webhooks.count else { break }
            let webhook = receiver.webhooks[integration.index]
            guard let shown = Self.visible(notification, sendResolved: webhook.sendResolved) else { return .skipped }
            let payload = WebhookPayload.body(webhook.maxAlerts > 0 ? WebhookPayload.truncated(shown, maxAlerts: webhook.maxAlerts) : shown)
            return post(payload, url: webhook.url, urlFile: webhook.urlFile, timeout: webhook.timeout, integration: integration)
        case "slack":
            guard integration.index < receiver.slack.count else { break }
            let slack = receiver.slack[integration.index]
            guard let shown = Self.visible(notification, sendResolved: slack.sendResolved) else { return .skipped }
            return post(SlackPayload.body(shown, channel: slack.channel ?? "", username: slack.username ?? ""), url: slack.url, urlFile: slack.urlFile,
                        timeout: 10_000, integration: integration)
        case "email":
            guard integration.index < receiver.email.count else { break }
            let email = receiver.email[integration.index]
            guard let shown = Self.visible(notification, sendResolved: email.sendResolved) else { return .skipped }
            guard let from = email.from ?? config.defaultEmailSender else { return .failed("\(integration.description): no 'from' and no global smtp_from") }
            let message: EmailMessage
            do { message = try EmailMessage(notification: shown, from: from, to: email.to, headers: email.headers.map { (name: $0.0, value: $0.1) }, now: now) } catch {
                return .failed("\(integration.description): \(error.message)")
            }
            return run([email.sendmail, "-t", "-i"], input: Array(message.text.utf8), timeout: 60_000, integration: integration, temporaryFailure: 75)
        case "command":
            guard integration.index < receiver.commands.count else { break }
            let command = receiver.commands[integration.index]
            guard let shown = Self.visible(notification, sendResolved: command.sendResolved) else { return .skipped }
            let text = NotificationText.title(shown) + "\n\n" + NotificationText.body(shown)
            let environment = ["MNOTIFY_STATUS=\(shown.status.rawValue)", "MNOTIFY_RECEIVER=\(shown.receiver)", "MNOTIFY_GROUP_KEY=\(shown.groupKey)",
                               "MNOTIFY_ALERTS=\(shown.alerts.count)"]
            return run(command.arguments, input: Array(text.utf8), environment: environment, timeout: command.timeout, integration: integration,
                       temporaryFailure: nil)
        default:
            break
        }
        return .failed("\(integration.description) is no longer configured")
    }

    /// When to try a failed delivery again: exponential backoff with jitter (a random half to
    /// whole of the step), so many failed deliveries do not retry in lockstep.
    public func nextAttempt(after attempts: Int, now: Int64) -> Int64 {
        let step = min(maximumBackoff, initialBackoff << Int64(min(attempts, 30)))
        return now + step / 2 + Int64.random(in: 0...(step / 2))
    }

    /// The notification as an integration shows it: without resolved alerts unless it sends
    /// them; nil when nothing is left to send.
    static func visible(_ notification: GroupNotification, sendResolved: Bool) -> GroupNotification? {
        var shown = notification
        if !sendResolved { shown.alerts = shown.alerts.filter { $0.status == .firing } }
        return shown.alerts.isEmpty ? nil : shown
    }

    private func post(_ body: [UInt8], url: String?, urlFile: String?, timeout: Int64, integration: Integration) -> Outcome {
        var address = url ?? ""
        if let urlFile {
            guard let bytes = try? StoreFile.readAll(urlFile) else { return .retry("\(integration.description): cannot read its url_file") }
            address = String(decoding: bytes, as: UTF8.self).trimmingBlanks.split(separator: "\n").first.map(String.init) ?? ""
        }
        do throws(NetworkError) {
            let target = try HTTPTarget(address)
            let response = try HTTPClient.send("POST", target, headers: [("Content-Type", "application/json")], body: body, timeout: timeout,
                                               userAgent: "mnotify/\(Toolkit.version)")
            switch response.status {
            case 200..<300: return .delivered
            case 429, 500..<600: return .retry("\(integration.description): HTTP \(response.status)")
            default: return .failed("\(integration.description): HTTP \(response.status), not retried")
            }
        } catch {
            // The error names host and port only, never the path or query.
            return .retry("\(integration.description): \(error.message)")
        }
    }

    private func run(_ arguments: [String], input: [UInt8], environment: [String] = [], timeout: Int64, integration: Integration,
                     temporaryFailure: Int32?) -> Outcome {
        do throws(NetworkError) {
            let outcome = try ChildProcess.run(arguments, input: input, environment: environment, timeout: timeout)
            if outcome.timedOut { return .retry("\(integration.description): \(arguments[0]) timed out") }
            if outcome.exitCode == 0 { return .delivered }
            if let temporaryFailure, outcome.exitCode != temporaryFailure {
                return .failed("\(integration.description): \(arguments[0]) exited with \(outcome.exitCode), not retried")
            }
            return .retry("\(integration.description): \(arguments[0]) exited with \(outcome.exitCode)")
        } catch {
            return .retry("\(integration.description): \(error.message)")
        }
    }
}
