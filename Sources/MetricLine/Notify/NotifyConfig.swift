#if canImport(Glibc)
import Glibc
#endif

/// mnotify's configuration: the part of Alertmanager's that mnotify implements (`route`,
/// `receivers`, `inhibit_rules`, `time_intervals`, `global`), read from YAML with every problem
/// reported as `file:line:column: ...`, so users can bring their Alertmanager file.
public struct NotifyConfig: Sendable {
    public var path: String
    public var route: Route
    /// In file order; names are unique.
    public var receivers: [Receiver]
    public var inhibitRules: [InhibitRule]
    /// Named time intervals (`time_intervals`, and the older `mute_time_intervals`).
    public var timeIntervals: [String: [TimeIntervalSpec]]
    /// `global.smtp_from`: the sender of emails that do not name one.
    public var defaultEmailSender: String?
    /// `state_group` (an mnotify extension): the group that may read the state directory.
    public var stateGroup: String?
    /// `global.resolve_timeout`: how long an alert that came without `endsAt` stays firing
    /// unless it is sent again (Alertmanager's default 5m).
    public var resolveTimeout: Int64 = 300_000
    /// Keys of Alertmanager's format that mnotify reads but does not use, each with why, for
    /// `mnotify check` to show.
    public var notes: [ConfigProblem] = []

    public func receiver(named name: String) -> Receiver? { receivers.first { $0.name == name } }

    public static func load(_ path: String) throws(NotifyConfigErrors) -> NotifyConfig {
        let bytes: [UInt8]
        do { bytes = try StoreFile.readAll(path) } catch { throw NotifyConfigErrors([ConfigProblem(path: path, position: nil, message: error.message)]) }
        return try parse(String(decoding: bytes, as: UTF8.self), path: path)
    }

    public static func parse(_ text: String, path: String) throws(NotifyConfigErrors) -> NotifyConfig {
        let root: YAMLNode
        do { root = try YAML.parse(text) } catch { throw NotifyConfigErrors([ConfigProblem(path: path, position: error.position, message: error.message)]) }
        var reader = NotifyConfigReader(path: path)
        let config = reader.read(root)
        if let config, reader.problems.isEmpty { return config }
        throw NotifyConfigErrors(reader.problems)
    }
}

/// One node of the routing tree, with what it inherits from its parent already filled in.
public struct Route: Sendable {
    public var receiver: String
    public var matchers: [LabelMatcher] = []
    /// Labels alerts are grouped by; `...` (all labels) sets `groupByAll`.
    public var groupBy: [String] = []
    public var groupByAll = false
    /// Milliseconds: wait before the first notification of a new group, between notifications of
    /// a changed group, and before repeating an unchanged one.
    public var groupWait: Int64 = 30_000
    public var groupInterval: Int64 = 300_000
    public var repeatInterval: Int64 = 14_400_000
    /// Keep looking at the following sibling routes after this one matched.
    public var continues = false
    public var routes: [Route] = []
    public var muteTimeIntervals: [String] = []
    public var activeTimeIntervals: [String] = []
    /// Escalation (an mnotify extension): when an alert has fired unacknowledged for
    /// `escalateAfter`, it is also sent to `escalateTo`.
    public var escalateTo: String?
    public var escalateAfter: Int64 = 0
    /// Where the route is written, for messages.
    public var position: YAMLPosition
    /// The route's place in the tree as Alertmanager keys it: the matchers of it and its parents,
    /// e.g. `{}/{severity="page"}`.
    public var path = "{}"
}

/// A named set of integrations.
public struct Receiver: Sendable {
    public var name: String
    public var webhooks: [WebhookConfig] = []
    public var slack: [SlackConfig] = []
    public var email: [EmailConfig] = []
    public var commands: [CommandConfig] = []
    public var position: YAMLPosition

    public var integrationCount: Int { webhooks.count + slack.count + email.count + commands.count }
}

/// `webhook_configs` entry.
public struct WebhookConfig: Sendable {
    /// The URL, or nil when it is read from `urlFile` at delivery (a secret kept out of the config).
    public var url: String?
    public var urlFile: String?
    public var sendResolved = true
    /// At most this many alerts per request (0: all).
    public var maxAlerts = 0
    public var timeout: Int64 = 10_000
    /// The whole request body, for APIs that want their own JSON (`body_template`, an mnotify
    /// extension); nil sends Alertmanager's payload.
    public var bodyTemplate: NotificationTemplate?
    public var http = HTTPConfig()
}

/// A receiver's `http_config`, the part mnotify uses.
public struct HTTPConfig: Sendable {
    /// `tls_config`: how an https:// receiver is checked (`ca_file`, `insecure_skip_verify`) and
    /// the client certificate shown to it (`cert_file`, `key_file`).
    public var tls = TLSSettings()
    /// `proxy_url`: an http:// proxy requests go through.
    public var proxy: HTTPTarget?
    /// `basic_auth`, `authorization` or the older `bearer_token(_file)`.
    public var authorization: HTTPAuthorization?
}

/// `slack_configs` entry.
public struct SlackConfig: Sendable {
    public var url: String?
    public var urlFile: String?
    public var channel: String?
    public var username: String?
    /// `icon_emoji` (`:bell:`) or `icon_url`: the picture the message is posted with.
    public var iconEmoji: String?
    public var iconURL: String?
    public var sendResolved = false
    /// The message's title (`title`) and the text under it in place of the alerts' sections (`text`).
    public var title: NotificationTemplate?
    public var text: NotificationTemplate?
    public var http = HTTPConfig()
}

/// `email_configs` entry; mail goes through `sendmail -t -i`.
public struct EmailConfig: Sendable {
    public var to: [String]
    public var from: String?
    /// Header values are templates, as in Alertmanager; `Subject` replaces the default subject.
    public var headers: [(String, NotificationTemplate)] = []
    /// The plain-text body (`text`); nil sends the default.
    public var text: NotificationTemplate?
    public var sendResolved = false
    /// The sendmail program (an mnotify extension; default /usr/sbin/sendmail).
    public var sendmail = "/usr/sbin/sendmail"
}

/// `command_configs` entry (an mnotify extension): a program run without a shell, with the
/// notification on stdin.
public struct CommandConfig: Sendable {
    public var arguments: [String]
    public var sendResolved = true
    public var timeout: Int64 = 30_000
    /// What the command reads on stdin (`text`); nil sends the default title and body.
    public var text: NotificationTemplate?
}

/// `inhibit_rules` entry: while an alert matching `source` fires, alerts matching `target` with
/// the same values of the `equal` labels are not sent.
public struct InhibitRule: Sendable {
    public var source: [LabelMatcher]
    public var target: [LabelMatcher]
    public var equal: [String]
}

/// A problem in the configuration and where it is.
public struct ConfigProblem: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var position: YAMLPosition?
    public var message: String

    public var description: String {
        guard let position else { return "\(path): \(message)" }
        return "\(path):\(position.line):\(position.column): \(message)"
    }
}

/// Every problem found in one configuration file.
public struct NotifyConfigErrors: Error, Sendable {
    public var problems: [ConfigProblem]
    public init(_ problems: [ConfigProblem]) { self.problems = problems }
}

/// Walks the YAML of a configuration, collecting every problem.
struct NotifyConfigReader {
    let path: String
    var problems: [ConfigProblem] = []
    var notes: [ConfigProblem] = []
    /// The templates of the files `templates` names, which receivers' templates may call.
    var templateFiles: [Template] = []

    init(path: String) { self.path = path }

    mutating func fail(_ position: YAMLPosition?, _ message: String) {
        problems.append(ConfigProblem(path: path, position: position, message: message))
    }

    /// Notes the keys of `node` among `keys` that are present: accepted, not used, for `reason`.
    mutating func unused(_ node: YAMLNode?, _ keys: [String], _ reason: String) {
        for entry in node?.mapping ?? [] where keys.contains(entry.key) {
            notes.append(ConfigProblem(path: path, position: entry.keyPosition, message: "\(entry.key) is not used: \(reason)"))
        }
    }

    mutating func read(_ root: YAMLNode) -> NotifyConfig? {
        guard root.mapping != nil else {
            fail(root.position, "the configuration is a mapping with 'route' and 'receivers', not a \(root.kind)")
            return nil
        }
        known(root, ["global", "route", "receivers", "inhibit_rules", "time_intervals", "mute_time_intervals", "templates", "state_group"], in: "the configuration")
        templateFiles = readTemplateFiles(root["templates"])
        var defaultEmailSender: String?
        var resolveTimeout: Int64 = 300_000
        if let global = root["global"], !global.isNull {
            known(global, ["resolve_timeout", "smtp_from", "smtp_smarthost", "smtp_hello", "smtp_require_tls"], in: "global")
            unused(global, ["smtp_smarthost", "smtp_hello", "smtp_require_tls"], "mail goes through the local sendmail")
            defaultEmailSender = global["smtp_from"]?.scalar
            if let value = duration(global["resolve_timeout"], "global resolve_timeout") {
                if value > 0 { resolveTimeout = value } else { fail(global["resolve_timeout"]!.position, "global resolve_timeout: want a duration over 0") }
            }
        }
        var receivers: [Receiver] = []
        for item in list(root["receivers"], "receivers") {
            guard let receiver = readReceiver(item) else { continue }
            if let first = receivers.first(where: { $0.name == receiver.name }) {
                fail(item["name"]?.position ?? item.position, "receiver \"\(receiver.name)\" is defined twice (first at \(first.position))")
            } else {
                receivers.append(receiver)
            }
        }
        var intervals: [String: [TimeIntervalSpec]] = [:]
        for key in ["time_intervals", "mute_time_intervals"] {
            for item in list(root[key], key) {
                guard let name = item["name"]?.scalar, !name.isEmpty else { fail(item.position, "\(key): each entry needs a 'name'"); continue }
                if intervals[name] != nil { fail(item["name"]!.position, "time interval \"\(name)\" is defined twice") }
                var specs: [TimeIntervalSpec] = []
                for spec in list(item["time_intervals"], "time_intervals") {
                    do { specs.append(try TimeIntervalSpec(spec)) } catch { fail(error.position, error.message) }
                }
                intervals[name] = specs
            }
        }
        var inhibitRules: [InhibitRule] = []
        for item in list(root["inhibit_rules"], "inhibit_rules") {
            known(item, ["source_matchers", "target_matchers", "source_match", "source_match_re", "target_match", "target_match_re", "equal"], in: "an inhibit rule")
            let source = matchers(item, new: "source_matchers", old: "source_match", oldRegex: "source_match_re")
            let target = matchers(item, new: "target_matchers", old: "target_match", oldRegex: "target_match_re")
            let equal = list(item["equal"], "equal").compactMap(\.scalar)
            inhibitRules.append(InhibitRule(source: source, target: target, equal: equal))
        }
        guard let routeNode = root["route"], !routeNode.isNull else {
            fail(root.position, "the configuration needs a 'route'")
            return nil
        }
        guard let route = readRoute(routeNode, parent: nil, receivers: receivers, intervals: intervals) else { return nil }
        var stateGroup: String?
        if let group = root["state_group"], !group.isNull {
            stateGroup = group.scalar
            if stateGroup?.isEmpty ?? true { fail(group.position, "state_group: want a group name") }
        }
        return NotifyConfig(path: path, route: route, receivers: receivers, inhibitRules: inhibitRules, timeIntervals: intervals,
                            defaultEmailSender: defaultEmailSender, stateGroup: stateGroup, resolveTimeout: resolveTimeout, notes: notes)
    }

    // MARK: Routes

    private mutating func readRoute(_ node: YAMLNode, parent: Route?, receivers: [Receiver], intervals: [String: [TimeIntervalSpec]]) -> Route? {
        guard node.mapping != nil else {
            fail(node.position, "a route is a mapping, not a \(node.kind)")
            return nil
        }
        known(node, ["receiver", "group_by", "group_wait", "group_interval", "repeat_interval", "matchers", "match", "match_re", "continue",
                     "routes", "mute_time_intervals", "active_time_intervals", "escalate_to", "escalate_after"], in: "a route")
        var route = parent ?? Route(receiver: "", position: node.position)
        route.position = node.position
        route.matchers = []
        route.routes = []
        route.continues = false
        route.muteTimeIntervals = []
        route.activeTimeIntervals = []
        if let receiver = node["receiver"]?.scalar {
            route.receiver = receiver
            if !receivers.contains(where: { $0.name == receiver }) { fail(node["receiver"]!.position, "undefined receiver \"\(receiver)\" used in route") }
        } else if parent == nil {
            fail(node.position, "the root route needs a 'receiver'")
        }
        if parent == nil && (node["matchers"] != nil || node["match"] != nil || node["match_re"] != nil) {
            fail(node.position, "the root route must not have matchers")
        }
        route.matchers = matchers(node, new: "matchers", old: "match", oldRegex: "match_re")
        if let groupBy = node["group_by"], !groupBy.isNull {
            let names = list(groupBy, "group_by").compactMap(\.scalar)
            route.groupByAll = names.contains("...")
            route.groupBy = names.filter { $0 != "..." }.sorted()
            if route.groupByAll && names.count > 1 { fail(groupBy.position, "group_by: '...' stands alone") }
            for name in route.groupBy where !Names.isLegacyLabelName(name) { fail(groupBy.position, "group_by: \"\(name)\" is not a label name") }
        }
        if let value = duration(node["group_wait"], "group_wait") { route.groupWait = value }
        if let value = duration(node["group_interval"], "group_interval") { route.groupInterval = value }
        if let value = duration(node["repeat_interval"], "repeat_interval") { route.repeatInterval = value }
        if route.groupInterval <= 0 { fail(node["group_interval"]?.position ?? node.position, "group_interval must be greater than zero") }
        if route.repeatInterval <= 0 { fail(node["repeat_interval"]?.position ?? node.position, "repeat_interval must be greater than zero") }
        if let value = node["continue"]?.scalar {
            guard let flag = Self.boolean(value) else { fail(node["continue"]!.position, "continue: want true or false"); return nil }
            if flag && parent == nil { fail(node["continue"]!.position, "the root route cannot have 'continue'") }
            route.continues = flag
        }
        for (key, keyPath) in [("mute_time_intervals", \Route.muteTimeIntervals), ("active_time_intervals", \Route.activeTimeIntervals)] {
            for item in list(node[key], key) {
                guard let name = item.scalar else { continue }
                if intervals[name] == nil { fail(item.position, "undefined time interval \"\(name)\" used in route") }
                route[keyPath: keyPath].append(name)
            }
        }
        if let target = node["escalate_to"]?.scalar {
            if !receivers.contains(where: { $0.name == target }) { fail(node["escalate_to"]!.position, "undefined receiver \"\(target)\" in escalate_to") }
            route.escalateTo = target
            route.escalateAfter = duration(node["escalate_after"], "escalate_after") ?? 0
            if route.escalateAfter <= 0 { fail(node["escalate_after"]?.position ?? node.position, "escalate_to needs escalate_after, a duration greater than zero") }
        }
        let parentPath = parent?.path
        route.path = parentPath.map { $0 + "/" + Self.matcherText(route.matchers) } ?? "{}"
        var children: [Route] = []
        for child in list(node["routes"], "routes") {
            if let readChild = readRoute(child, parent: route, receivers: receivers, intervals: intervals) { children.append(readChild) }
        }
        route.routes = children
        return route
    }

    static func matcherText(_ matchers: [LabelMatcher]) -> String {
        "{" + matchers.map(\.description).joined(separator: ",") + "}"
    }

    /// `matchers:` (strings), plus the older `match:` / `match_re:` maps.
    private mutating func matchers(_ node: YAMLNode, new: String, old: String, oldRegex: String) -> [LabelMatcher] {
        var result: [LabelMatcher] = []
        for item in list(node[new], new) {
            guard let text = item.scalar else { fail(item.position, "\(new): each entry is a string like severity=\"page\""); continue }
            do { result += try AlertMatchers.parse(text) } catch { fail(item.position, error.message) }
        }
        for (key, operation) in [(old, LabelMatcher.Operation.equal), (oldRegex, .matchesRegex)] {
            guard let map = node[key], !map.isNull else { continue }
            guard let entries = map.mapping else { fail(map.position, "\(key): want a mapping of label names to values"); continue }
            for entry in entries {
                do { result.append(try LabelMatcher(entry.key, operation, entry.value.scalar ?? "")) } catch {
                    fail(entry.value.position, "\(key): bad regular expression: \(error.message)")
                }
            }
        }
        return result
    }

    // MARK: Receivers

    private mutating func readReceiver(_ node: YAMLNode) -> Receiver? {
        guard let name = node["name"]?.scalar, !name.isEmpty else {
            fail(node.position, "each receiver needs a 'name'")
            return nil
        }
        let supported = ["name", "webhook_configs", "slack_configs", "email_configs", "command_configs"]
        for entry in node.mapping ?? [] where !supported.contains(entry.key) {
            if entry.key.hasSuffix("_configs") {
                fail(entry.keyPosition, "receiver \"\(name)\": \(entry.key) is not supported by mnotify (webhook, slack, email and command are)")
            } else {
                fail(entry.keyPosition, "receiver \"\(name)\": unknown key \"\(entry.key)\"")
            }
        }
        var receiver = Receiver(name: name, position: node.position)
        for item in list(node["webhook_configs"], "webhook_configs") {
            known(item, ["url", "url_file", "send_resolved", "max_alerts", "timeout", "http_config", "body_template"], in: "a webhook config")
            var config = WebhookConfig()
            config.url = item["url"]?.scalar
            config.urlFile = item["url_file"]?.scalar
            if (config.url == nil) == (config.urlFile == nil) { fail(item.position, "receiver \"\(name)\": a webhook needs exactly one of url and url_file") }
            if let url = config.url, !(url.hasPrefix("http://") || url.hasPrefix("https://")) { fail(item["url"]!.position, "receiver \"\(name)\": webhook url must start with http:// or https://") }
            config.sendResolved = flag(item["send_resolved"], default: true)
            if let text = item["max_alerts"]?.scalar { if let value = Int(text), value >= 0 { config.maxAlerts = value } else { fail(item["max_alerts"]!.position, "max_alerts: want a number") } }
            if let value = duration(item["timeout"], "timeout") { config.timeout = value }
            config.bodyTemplate = template(item["body_template"], key: "body_template", receiver: name, in: "webhook")
            config.http = httpConfig(item["http_config"], receiver: name)
            receiver.webhooks.append(config)
        }
        for item in list(node["slack_configs"], "slack_configs") {
            known(item, ["api_url", "api_url_file", "channel", "username", "send_resolved", "title", "text", "icon_emoji", "icon_url", "http_config"], in: "a slack config")
            var config = SlackConfig()
            config.url = item["api_url"]?.scalar
            config.urlFile = item["api_url_file"]?.scalar
            if (config.url == nil) == (config.urlFile == nil) { fail(item.position, "receiver \"\(name)\": slack needs exactly one of api_url and api_url_file") }
            config.channel = item["channel"]?.scalar
            config.username = item["username"]?.scalar
            config.iconEmoji = item["icon_emoji"]?.scalar
            config.iconURL = item["icon_url"]?.scalar
            config.sendResolved = flag(item["send_resolved"], default: false)
            config.title = template(item["title"], key: "title", receiver: name, in: "slack")
            config.text = template(item["text"], key: "text", receiver: name, in: "slack")
            config.http = httpConfig(item["http_config"], receiver: name)
            receiver.slack.append(config)
        }
        for item in list(node["email_configs"], "email_configs") {
            known(item, ["to", "from", "headers", "send_resolved", "sendmail", "smarthost", "require_tls", "html", "text"], in: "an email config")
            unused(item, ["smarthost", "require_tls"], "mail goes through the local sendmail")
            unused(item, ["html"], "mail is plain text")
            guard let to = item["to"]?.scalar, !to.isEmpty else { fail(item.position, "receiver \"\(name)\": an email config needs 'to'"); continue }
            var config = EmailConfig(to: to.split(separator: ",").map { String($0).trimmingBlanks }.filter { !$0.isEmpty })
            config.from = item["from"]?.scalar
            config.sendResolved = flag(item["send_resolved"], default: false)
            if let program = item["sendmail"]?.scalar { config.sendmail = program }
            for entry in item["headers"]?.mapping ?? [] {
                let key = "headers." + entry.key
                // An empty value (`Subject:`) is an empty template, as YAML's null reads.
                let header = entry.value.isNull ? try? NotificationTemplate("", key: key) : template(entry.value, key: key, receiver: name, in: "email")
                if let header { config.headers.append((entry.key, header)) }
            }
            config.text = template(item["text"], key: "text", receiver: name, in: "email")
            receiver.email.append(config)
        }
        for item in list(node["command_configs"], "command_configs") {
            known(item, ["command", "send_resolved", "timeout", "text"], in: "a command config")
            let arguments = list(item["command"], "command").compactMap(\.scalar)
            guard let program = arguments.first, program.hasPrefix("/") else {
                fail(item.position, "receiver \"\(name)\": command wants a list: an absolute program path, then its arguments")
                continue
            }
            var config = CommandConfig(arguments: arguments)
            config.sendResolved = flag(item["send_resolved"], default: true)
            if let value = duration(item["timeout"], "timeout") { config.timeout = value }
            config.text = template(item["text"], key: "text", receiver: name, in: "command")
            receiver.commands.append(config)
        }
        return receiver
    }

    // MARK: Small readers

    /// The template at `node`, compiled; a bad one is reported where its text starts.
    private mutating func template(_ node: YAMLNode?, key: String, receiver: String, in kind: String) -> NotificationTemplate? {
        guard let node, !node.isNull else { return nil }
        guard let text = node.scalar else {
            fail(node.position, "receiver \"\(receiver)\": \(kind) \(key): want a template string, not a \(node.kind)")
            return nil
        }
        do { return try NotificationTemplate(text, key: key, files: templateFiles) } catch {
            fail(node.position, "receiver \"\(receiver)\": \(kind) \(key): \(error.message)")
            return nil
        }
    }

    /// `templates`: files (the last part of each path may hold `*`, `?` or `[...]`, relative paths
    /// count from the configuration's directory) whose `define`d templates the receivers' may
    /// call, as Alertmanager's template files. A pattern that matches no file is not an error, as
    /// in Alertmanager; a file that does not compile is, with its own line and column.
    private mutating func readTemplateFiles(_ node: YAMLNode?) -> [Template] {
        var files: [Template] = []
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        for item in list(node, "templates") {
            guard let pattern = item.scalar, !pattern.isEmpty else { fail(item.position, "templates: want file names"); continue }
            var matches = glob_t()
            defer { globfree(&matches) }
            guard glob(pattern.hasPrefix("/") ? pattern : directory + "/" + pattern, 0, nil, &matches) == 0 else { continue }
            for index in 0..<Int(matches.gl_pathc) {
                guard let name = matches.gl_pathv[index].map({ String(cString: $0) }) else { continue }
                let bytes: [UInt8]
                do { bytes = try StoreFile.readAll(name) } catch {
                    fail(item.position, "templates: \(error.message)")
                    continue
                }
                do {
                    files.append(try Template(String(decoding: bytes, as: UTF8.self), name: String(name.split(separator: "/").last ?? ""),
                                              dialect: .notifications))
                } catch {
                    fail(item.position, "templates: \(name): \(error.message)")
                }
            }
        }
        return files
    }

    /// `http_config` of a receiver: TLS, proxy and authorization; its other keys (`oauth2`,
    /// `follow_redirects`, ...) are accepted, not used, and named as notes.
    private mutating func httpConfig(_ node: YAMLNode?, receiver: String) -> HTTPConfig {
        let used = ["tls_config", "proxy_url", "basic_auth", "authorization", "bearer_token", "bearer_token_file"]
        for entry in node?.mapping ?? [] where !used.contains(entry.key) {
            notes.append(ConfigProblem(path: path, position: entry.keyPosition,
                                       message: "receiver \"\(receiver)\": http_config \(entry.key) is not used (mnotify uses tls_config, proxy_url, basic_auth, authorization and bearer_token)"))
        }
        return HTTPConfig(tls: tlsSettings(node, receiver: receiver), proxy: proxy(node, receiver: receiver),
                          authorization: authorization(node, receiver: receiver))
    }

    /// `http_config: tls_config` of a receiver: `ca_file`, `cert_file` and `key_file` (checked
    /// to be readable, a certificate with its key, as Alertmanager wants) and
    /// `insecure_skip_verify`; `server_name` and the TLS versions are accepted and not used.
    private mutating func tlsSettings(_ node: YAMLNode?, receiver: String) -> TLSSettings {
        guard let tls = node?["tls_config"] else { return TLSSettings() }
        known(tls, ["ca_file", "cert_file", "key_file", "insecure_skip_verify", "server_name", "min_version", "max_version", "ca", "cert", "key"],
              in: "tls_config")
        for key in ["ca", "cert", "key"] where tls[key] != nil {
            fail(tls[key]!.position, "receiver \"\(receiver)\": tls_config \(key) (inline PEM) is not supported by mnotify; use \(key)_file")
        }
        unused(tls, ["server_name", "min_version", "max_version"], "libcurl's defaults apply")
        var settings = TLSSettings()
        for (key, path) in [("ca_file", \TLSSettings.caFile), ("cert_file", \.certificateFile), ("key_file", \.keyFile)] {
            guard let file = tls[key] else { continue }
            guard let text = file.scalar, FileSystem.exists(text) else {
                fail(file.position, "receiver \"\(receiver)\": tls_config \(key) \(file.scalar.map { "\"\($0)\"" } ?? "") is not a file that can be read")
                continue
            }
            settings[keyPath: path] = text
        }
        if (tls["cert_file"] == nil) != (tls["key_file"] == nil) {
            fail(tls.position, "receiver \"\(receiver)\": tls_config needs both cert_file and key_file, or neither")
        }
        settings.skipsVerification = flag(tls["insecure_skip_verify"], default: false)
        return settings
    }

    /// `http_config: proxy_url` of a receiver: an http:// proxy (https:// targets are reached
    /// through it by CONNECT). `no_proxy` and `proxy_from_environment` are not used; libcurl
    /// follows `https_proxy` from the environment for https:// receivers without a proxy_url.
    private mutating func proxy(_ node: YAMLNode?, receiver: String) -> HTTPTarget? {
        guard let field = node?["proxy_url"], let text = field.scalar, !text.isEmpty else { return nil }
        guard text.hasPrefix("http://"), !text.contains("@"), let target = try? HTTPTarget(text), !target.host.isEmpty else {
            // Not repeated: it may hold a password.
            fail(field.position, "receiver \"\(receiver)\": proxy_url wants an http:// proxy, http://host:port, without credentials")
            return nil
        }
        return target
    }

    /// `http_config: basic_auth` or `authorization` of a receiver (not both, nor a password and
    /// a password file together, as Alertmanager refuses).
    private mutating func authorization(_ node: YAMLNode?, receiver: String) -> HTTPAuthorization? {
        let basic = node?["basic_auth"], other = node?["authorization"]
        if basic != nil, let other {
            fail(other.position, "receiver \"\(receiver)\": at most one of basic_auth and authorization")
            return nil
        }
        // The older spelling of a bearer token, still read by Alertmanager.
        let token = node?["bearer_token"]?.scalar, tokenFile = node?["bearer_token_file"]?.scalar
        if token != nil || tokenFile != nil {
            if basic != nil || other != nil || (token != nil && tokenFile != nil) {
                fail(node!.position, "receiver \"\(receiver)\": at most one of basic_auth, authorization, bearer_token and bearer_token_file")
                return nil
            }
            return .credentials(type: "Bearer", value: token, file: tokenFile)
        }
        if let basic {
            known(basic, ["username", "password", "password_file"], in: "basic_auth")
            let password = basic["password"]?.scalar, file = basic["password_file"]?.scalar
            if password != nil && file != nil { fail(basic.position, "receiver \"\(receiver)\": at most one of basic_auth password and password_file") }
            return .basic(username: basic["username"]?.scalar ?? "", password: password, passwordFile: file)
        }
        if let other {
            known(other, ["type", "credentials", "credentials_file"], in: "authorization")
            let value = other["credentials"]?.scalar, file = other["credentials_file"]?.scalar
            if value != nil && file != nil { fail(other.position, "receiver \"\(receiver)\": at most one of authorization credentials and credentials_file") }
            let type = other["type"]?.scalar ?? "Bearer"
            if type.lowercased() == "basic" { fail(other.position, "receiver \"\(receiver)\": authorization type Basic: use basic_auth") }
            return .credentials(type: type, value: value, file: file)
        }
        return nil
    }

    private mutating func known(_ node: YAMLNode, _ keys: [String], in what: String) {
        for entry in node.mapping ?? [] where !keys.contains(entry.key) {
            fail(entry.keyPosition, "unknown key \"\(entry.key)\" in \(what)")
        }
    }

    private mutating func list(_ node: YAMLNode?, _ what: String) -> [YAMLNode] {
        guard let node, !node.isNull else { return [] }
        guard let items = node.sequence else {
            fail(node.position, "\(what): want a list, not a \(node.kind)")
            return []
        }
        return items
    }

    private mutating func duration(_ node: YAMLNode?, _ what: String) -> Int64? {
        guard let node, !node.isNull else { return nil }
        guard let text = node.scalar, let value = RuleDuration.milliseconds(text) else {
            fail(node.position, "\(what): not a duration: \"\(node.scalar ?? node.kind)\"")
            return nil
        }
        return value
    }

    private mutating func flag(_ node: YAMLNode?, default fallback: Bool) -> Bool {
        guard let node, let text = node.scalar else { return fallback }
        guard let value = Self.boolean(text) else {
            fail(node.position, "want true or false, not \"\(text)\"")
            return fallback
        }
        return value
    }

    static func boolean(_ text: String) -> Bool? {
        switch text {
        case "true", "True", "TRUE", "yes": true
        case "false", "False", "FALSE", "no": false
        default: nil
        }
    }
}
