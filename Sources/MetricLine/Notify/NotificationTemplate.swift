/// A template from a receiver's configuration (an email's `text` or header, a Slack `title` or
/// `text`, a webhook's `body_template`, a command's `text`), compiled when the configuration is
/// read, in the language of malert's annotations with Alertmanager's data (`NotificationTemplateData`).
public struct NotificationTemplate: Sendable {
    /// The configuration key, which names the template in messages: `text`, `headers.Subject`.
    public var key: String
    public var template: Template

    /// Compiles `text`, which may call the templates `files` define (the configuration's
    /// `templates`). A `{{ template "name" }}` of a name neither defines is an error here, not at
    /// delivery, where it could never run.
    public init(_ text: String, key: String, files: [Template] = []) throws(TemplateError) {
        template = try Template(text, name: key, dialect: .notifications).calling(files)
        self.key = key
        if let undefined = template.undefinedTemplateNames.first {
            throw TemplateError("template: \(key): no template \"\(undefined)\" is defined in the text or the template files")
        }
    }
}

/// Renders the templates of one integration over one notification. A template that fails to run
/// gives way to the default text, and the failure is kept for a note at the end of the message,
/// so that a template never costs a notification.
struct NotificationRenderer {
    let notification: GroupNotification
    /// Applied to the alerts' text before templates see it (see `NotificationTemplateData`).
    let escape: (String) -> String
    /// The template data, built on first use.
    private var data: TemplateValue?
    /// Each failure as `'key': message`.
    private(set) var failures: [String] = []

    init(_ notification: GroupNotification, escape: @escaping (String) -> String = { $0 }) {
        self.notification = notification
        self.escape = escape
    }

    /// `template` rendered, or `fallback()` when there is none or it fails.
    mutating func render(_ template: NotificationTemplate?, default fallback: () -> String) -> String {
        guard let template else { return fallback() }
        let root = data ?? NotificationTemplateData(notification, escape: escape).root
        data = root
        do {
            return try template.template.render(root)
        } catch {
            fail(template.key, error.message)
            return fallback()
        }
    }

    mutating func fail(_ key: String, _ message: String) {
        failures.append("'\(key)': \(message)")
    }

    /// What a person reads about the failures, one line each; nil when there were none.
    var note: String? {
        guard !failures.isEmpty else { return nil }
        return failures.map { "mnotify: template \($0); the default is shown instead." }.joined(separator: "\n")
    }
}
