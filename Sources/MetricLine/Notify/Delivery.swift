/// Sends one notification through one integration, and says whether to try again: answers 2xx are
/// delivered; 429, 5xx and connection errors are tried again; other 4xx are not (the request
/// itself is wrong). Messages name the integration, never its URL, which may carry a token.
public struct Delivery {
    public enum Outcome: Sendable, Equatable {
        case delivered
        /// Skipped on purpose (only resolved alerts, and `send_resolved` is off).
        case skipped
        /// Try again later; `after` (milliseconds), when the receiver said how long to wait (`Retry-After`).
        case retry(String, after: Int64? = nil)
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
            let payload = Self.webhookBody(WebhookPayload.truncated(shown, maxAlerts: webhook.maxAlerts), webhook)
            return post(payload, url: webhook.url, urlFile: webhook.urlFile, timeout: webhook.timeout, http: webhook.http, integration: integration)
        case "slack":
            guard integration.index < receiver.slack.count else { break }
            let slack = receiver.slack[integration.index]
            guard let shown = Self.visible(notification, sendResolved: slack.sendResolved) else { return .skipped }
            return post(Self.slackBody(shown, slack), url: slack.url, urlFile: slack.urlFile, timeout: 10_000, http: slack.http, integration: integration)
        case "email":
            guard integration.index < receiver.email.count else { break }
            let email = receiver.email[integration.index]
            guard let shown = Self.visible(notification, sendResolved: email.sendResolved) else { return .skipped }
            guard let from = email.from ?? config.defaultEmailSender else { return .failed("\(integration.description): no 'from' and no global smtp_from") }
            let message: EmailMessage
            do { message = try Self.emailMessage(shown, email, from: from, now: now) } catch {
                return .failed("\(integration.description): \(error.message)")
            }
            return run([email.sendmail, "-t", "-i"], input: Array(message.text.utf8), timeout: 60_000, integration: integration, temporaryFailure: 75)
        case "command":
            guard integration.index < receiver.commands.count else { break }
            let command = receiver.commands[integration.index]
            guard let shown = Self.visible(notification, sendResolved: command.sendResolved) else { return .skipped }
            let text = Self.commandInput(shown, command)
            let environment = ["MNOTIFY_STATUS=\(shown.status.rawValue)", "MNOTIFY_RECEIVER=\(shown.receiver)", "MNOTIFY_GROUP_KEY=\(shown.groupKey)",
                               "MNOTIFY_ALERTS=\(shown.alerts.count)"]
            return run(command.arguments, input: Array(text.utf8), environment: environment, timeout: command.timeout, integration: integration,
                       temporaryFailure: nil)
        default:
            break
        }
        return .failed("\(integration.description) is no longer configured")
    }

    // MARK: Bodies, with the integration's templates

    /// The webhook's request body: its `body_template` when it renders to JSON, else Alertmanager's
    /// payload (with the failure in `templateError`).
    public static func webhookBody(_ notification: GroupNotification, _ webhook: WebhookConfig) -> [UInt8] {
        guard let template = webhook.bodyTemplate else { return WebhookPayload.body(notification) }
        var renderer = NotificationRenderer(notification)
        var failed = false
        let body = Array(renderer.render(template) { failed = true; return "" }.utf8)
        if !failed {
            let problem: LineError? = body.withUnsafeBufferPointer { buffer in
                do throws(LineError) {
                    _ = try JSONParser.parse(buffer)
                    return nil
                } catch { return error }
            }
            guard let problem else { return body }
            renderer.fail(template.key, "the body is not JSON (byte \(problem.column): \(problem.reason))")
        }
        return WebhookPayload.body(notification, templateError: renderer.note)
    }

    /// A `Retry-After` value in milliseconds: whole seconds, or an HTTP date
    /// (`Wed, 21 Oct 2015 07:28:00 GMT`) from now; nil for anything else.
    static func retryAfter(_ text: String, now: Int64 = Clock.nowMilliseconds()) -> Int64? {
        let value = text.trimmingBlanks
        if let seconds = Int64(value), seconds >= 0, seconds < 1 << 40 { return seconds * 1000 }
        let words = value.split(separator: " ")
        guard words.count == 6, words[5] == "GMT", let day = Int64(words[1]), let month = Timestamp.monthAbbreviations.firstIndex(of: String(words[2])),
              let year = Int64(words[3]), (1970...9999).contains(year),
              let time = Timestamp.milliseconds(year: year, month: Int64(month + 1), day: day, clock: words[4]) else { return nil }
        return max(0, time - now)
    }

    /// The Slack post: its `title` and `text` templates over data escaped for Slack, or the defaults.
    public static func slackBody(_ notification: GroupNotification, _ slack: SlackConfig) -> [UInt8] {
        var renderer = NotificationRenderer(notification, escape: SlackPayload.escape)
        let title = slack.title.map { template in renderer.render(template) { SlackPayload.escape(NotificationText.title(notification)) } }
        let text = slack.text.flatMap { template in
            var failed = false
            let rendered = renderer.render(template) { failed = true; return "" }
            return failed ? nil : rendered
        }
        return SlackPayload.body(notification, channel: slack.channel ?? "", username: slack.username ?? "", iconEmoji: slack.iconEmoji ?? "",
                                 iconURL: slack.iconURL ?? "", title: title, text: text, note: renderer.note)
    }

    /// The email: header values (`Subject` among them) and `text` rendered, or the defaults.
    public static func emailMessage(_ notification: GroupNotification, _ email: EmailConfig, from: String, now: Int64) throws(NotifyError) -> EmailMessage {
        var renderer = NotificationRenderer(notification)
        var headers: [(name: String, value: String)] = []
        for (name, template) in email.headers {
            var failed = false
            let value = renderer.render(template) { failed = true; return "" }
            // A subject that fails gives way to the default one; another header is left out.
            if !failed { headers.append((name, value)) }
        }
        var body = renderer.render(email.text) { NotificationText.body(notification) }
        if let note = renderer.note { body = Self.appending(note, to: body) }
        return try EmailMessage(notification: notification, from: from, to: email.to, headers: headers, body: body, now: now)
    }

    /// What the command reads on stdin: its `text` rendered, or the default title and body.
    public static func commandInput(_ notification: GroupNotification, _ command: CommandConfig) -> String {
        var renderer = NotificationRenderer(notification)
        let text = renderer.render(command.text) { NotificationText.title(notification) + "\n\n" + NotificationText.body(notification) }
        guard let note = renderer.note else { return text }
        return Self.appending(note, to: text)
    }

    /// `note` after `text`, a blank line between, ending in a newline.
    static func appending(_ note: String, to text: String) -> String {
        var result = text
        while result.hasSuffix("\n") { result.removeLast() }
        return result + "\n\n" + note + "\n"
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

    private func post(_ body: [UInt8], url: String?, urlFile: String?, timeout: Int64, http: HTTPConfig, integration: Integration) -> Outcome {
        var address = url ?? ""
        if let urlFile {
            guard let secret = SecretFile.read(urlFile) else { return .retry("\(integration.description): cannot read its url_file") }
            address = secret
        }
        do throws(NetworkError) {
            let target = try HTTPTarget(address)
            var headers = [("Content-Type", "application/json")]
            if let authorization = http.authorization { headers.append(("Authorization", try authorization.headerValue())) }
            let response = try HTTPClient.send("POST", target, headers: headers, body: body, timeout: timeout,
                                               userAgent: "mnotify/\(Toolkit.version)", tls: http.tls, proxy: http.proxy)
            switch response.status {
            case 200..<300: return .delivered
            case 429, 500..<600:
                // Slack (and others) say how long to back off after 429 or 503.
                return .retry("\(integration.description): HTTP \(response.status)", after: response.header("retry-after").flatMap { Self.retryAfter($0) })
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
