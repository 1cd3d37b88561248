"""Reads a tool's --help (CommandSpec.helpText) back into its parts, for man pages and completion.

The tools are found on PATH; their help text is the one description of every option, so
everything generated from it stays in step with the code.
"""
import re
import subprocess

TOOLS = ["mcollect", "mstore", "mquery", "malert", "mnotify"]


class Option:
    """One line of the Options block: its spellings, the placeholder of its value, its help."""

    def __init__(self, names, argument, help):
        self.names = names
        self.argument = argument
        self.help = help

    @property
    def label(self):
        return ", ".join(self.names) + (" " + self.argument if self.argument else "")

    @property
    def values(self):
        """The words listed as its values in the help ("write F: prom (default), csv"), or []."""
        if not self.argument:
            return []
        text = re.sub(r"\([^)]*\)", "", self.help)
        text = re.sub(r"\s+,", ",", re.sub(r"\s+", " ", text)).strip()
        match = re.search(r"^(?:read |write )?" + re.escape(self.argument) + r": (.*)$", text) \
            or re.search(r"^[a-z ]+: ([a-z0-9_]+(?:,[a-z0-9_]+)+)$", text) \
            or re.search(r"^([a-z0-9_]+(?:(?:,| or) [a-z0-9_]+)+)\s*$", text.strip())
        if not match:
            return []
        words = [w.strip() for w in re.split(r",| or ", match.group(1))]
        return [w for w in words if re.fullmatch(r"[a-z0-9_]+", w)]


class Command:
    """The help of one command (`mstore` or `mnotify silence add`), parsed."""

    def __init__(self, path, text):
        self.path = path
        self.text = text
        lines = text.rstrip("\n").split("\n")
        first = lines[0]
        self.summary = first.split(" - ", 1)[1] if " - " in first else ""
        self.usage, self.options, self.examples, self.notes = [], [], [], []
        self.exit_status = []
        blocks = _blocks(lines[1:])
        for block in blocks:
            head = block[0]
            if head == "Usage:":
                self.usage = [l.strip() for l in block[1:]]
            elif head == "Options:":
                self.options = _options(block[1:])
            elif head == "Examples:":
                self.examples = [l[2:] for l in block[1:]]
            elif head.startswith("Exit status:"):
                self.exit_status.append(" ".join(block))
            else:
                self.notes.append(block)
        self.subcommands = []
        prefix = path + " "
        for line in self.usage:
            for part in line.split(" | "):
                part = part.strip()
                if not part.startswith(prefix):
                    part = prefix + part
                word = part[len(prefix):].split(" ", 1)[0]
                if re.fullmatch(r"[a-z][a-z-]*", word) and word not in self.subcommands:
                    self.subcommands.append(word)

    @property
    def name(self):
        return self.path.split(" ")[0]

    def option_names(self):
        return [name for option in self.options for name in option.names]


def _blocks(lines):
    """Splits the help into blank-line separated blocks."""
    blocks, current = [], []
    for line in lines:
        if line.strip():
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _options(lines):
    """Reads the option lines: `  -i, --input FILE  help`, a long label's help on the next line."""
    options, pending = [], None
    for line in lines:
        stripped = line.strip()
        if pending is not None and not stripped.startswith("-"):
            pending.help = stripped
            options.append(pending)
            pending = None
            continue
        label, help = (re.split(r"\s{2,}", stripped, maxsplit=1) + [""])[:2]
        names, argument = [], None
        for piece in label.split(", "):
            name, _, arg = piece.partition(" ")
            names.append(name)
            if arg:
                argument = arg
        option = Option(names, argument, help.strip())
        if help.strip():
            options.append(option)
        else:
            pending = option
    return options


def help_text(path):
    """Runs `path --help` (a tool on PATH, maybe with subcommands) and returns what it prints."""
    result = subprocess.run(path.split(" ") + ["--help"], capture_output=True, text=True, check=True)
    return result.stdout


def command_tree(path):
    """The command at `path` and every subcommand below it, depth first: [(Command), ...]."""
    command = Command(path, help_text(path))
    commands = [command]
    for sub in command.subcommands:
        commands += command_tree(path + " " + sub)
    return commands
