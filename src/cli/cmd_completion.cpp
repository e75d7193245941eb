// `polaris completion bash|zsh|fish` and `polaris man`: shell completion scripts and the manual
// page, both made from the command tree itself so that they list exactly the commands and flags
// there are.
#include <algorithm>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cli/common.hpp"
#include "polaris/version.hpp"

namespace polaris::cli {
namespace {

std::vector<CLI::App*> commands_of(CLI::App& app) {
  return app.get_subcommands([](CLI::App*) { return true; });
}

// Every flag spelling of `command` ("-s --server ..."), --help included.
std::string flags_of(CLI::App& command) {
  std::string words;
  for (const CLI::Option* option : command.get_options()) {
    if (option->get_positional() && option->get_lnames().empty() && option->get_snames().empty()) {
      continue;
    }
    for (const auto& name : option->get_snames()) words += (words.empty() ? "-" : " -") + name;
    for (const auto& name : option->get_lnames()) words += (words.empty() ? "--" : " --") + name;
  }
  return words;
}

std::string command_names(CLI::App& app) {
  std::string names;
  for (CLI::App* command : commands_of(app)) {
    names += (names.empty() ? "" : " ") + command->get_name();
  }
  return names;
}

// Every flag that takes a value, in any command (so that its value is not taken for a command).
void collect_value_flags(CLI::App& command, std::set<std::string>& flags) {
  for (const CLI::Option* option : command.get_options()) {
    if (option->get_type_size() <= 0 || option->get_expected_min() == 0) continue;
    for (const auto& name : option->get_snames()) flags.insert("-" + name);
    for (const auto& name : option->get_lnames()) flags.insert("--" + name);
  }
  for (CLI::App* sub : commands_of(command)) collect_value_flags(*sub, flags);
}

std::string value_flags(CLI::App& app) {
  std::set<std::string> flags;
  collect_value_flags(app, flags);
  std::string words;
  for (const auto& flag : flags) words += (words.empty() ? "" : " ") + flag;
  return words;
}

// The commands whose first positional argument is a tool name.
bool takes_a_tool(const std::string& name) {
  return name == "tools" || name == "call" || name == "stats";
}

// The bash completion: `function` fills COMPREPLY from COMP_WORDS and COMP_CWORD.
std::string bash_functions(CLI::App& app, const std::string& function) {
  std::string cases;
  for (CLI::App* command : commands_of(app)) {
    std::string body;
    const auto subcommands = commands_of(*command);
    if (!subcommands.empty()) {
      for (CLI::App* sub : subcommands) {
        cases += "    " + command->get_name() + "/" + sub->get_name() + ") flags=\"" +
                 flags_of(*sub) + "\" ;;\n";
      }
      body = "if [[ $sub == \"\" ]]; then words=\"" + command_names(*command) + "\"; fi; ";
    }
    if (takes_a_tool(command->get_name())) body += "[[ $positional -eq 0 ]] && tools=1; ";
    if (command->get_name() == "completion") body += "words=\"bash zsh fish\"; ";
    if (command->get_name() == "help") body += "words=\"" + command_names(app) + "\"; ";
    cases +=
        "    " + command->get_name() + ") flags=\"" + flags_of(*command) + "\"; " + body + ";;\n";
  }
  return R"SH(_polaris_tools() {
  # Tool names from the live catalogue, through the --server given on the line (if any).
  local i servers=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    if [[ ${COMP_WORDS[i]} == -s || ${COMP_WORDS[i]} == --server ]]; then
      servers+=(--server "${COMP_WORDS[i+1]}")
    fi
  done
  polaris tools -o name "${servers[@]}" 2>/dev/null
}

)SH" + function +
         R"SH(() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  local command="" sub="" positional=0 i word
  local value_flags=")SH" +
         value_flags(app) + R"SH("
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    if [[ $word == -* ]]; then continue; fi
    if [[ " $value_flags " == *" ${COMP_WORDS[i-1]} "* ]]; then continue; fi  # a flag's value
    if [[ -z $command ]]; then command=$word
    elif [[ $command == mcp && -z $sub ]]; then sub=$word
    else positional=$((positional + 1)); fi
  done
  if [[ $prev == --tool && $command == chat ]]; then
    COMPREPLY=($(compgen -W "$(_polaris_tools)" -- "$cur")); return
  fi
  if [[ $prev == -o || $prev == --output ]]; then
    COMPREPLY=($(compgen -W "table wide json name" -- "$cur")); return
  fi
  if [[ -z $command ]]; then
    COMPREPLY=($(compgen -W ")SH" +
         command_names(app) + " " + flags_of(app) + R"SH(" -- "$cur")); return
  fi
  local flags="" words="" tools=0
  case ${command}${sub:+/$sub} in
)SH" + cases +
         R"SH(  esac
  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$flags" -- "$cur")); return; fi
  if [[ $tools -eq 1 ]]; then words="$words $(_polaris_tools)"; fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
)SH";
}

std::string bash_script(CLI::App& app) {
  return "# bash completion for polaris (polaris completion bash)\n" +
         bash_functions(app, "_polaris") + "complete -F _polaris polaris\n";
}

// The bash completion run by zsh's bashcompinit. The file works both ways zsh loads it: autoloaded
// from $fpath as the function _polaris (its body then runs at the first TAB, which must already
// complete), or sourced after compinit (which registers _polaris for the command). The bash
// function has its own name so that it does not replace the autoloaded _polaris.
std::string zsh_script(CLI::App& app) {
  return "#compdef polaris\n# zsh completion for polaris (polaris completion zsh): the bash "
         "completion through bashcompinit.\nautoload -U +X bashcompinit && bashcompinit\n" +
         bash_functions(app, "__polaris_bash_words") +
         // bash arrays count from 0: so do the words the bash function reads, in zsh.
         "__polaris_bash() { setopt localoptions ksharrays; __polaris_bash_words \"$@\"; }\n"
         "_polaris() { _bash_complete -F __polaris_bash; }\n"
         "if [[ ${funcstack[1]} == _polaris ]]; then _polaris \"$@\"; else compdef _polaris "
         "polaris; fi\n";
}

std::string fish_quote(std::string text) {
  std::string quoted = "'";
  for (const char c : text) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

std::string fish_flags(CLI::App& command, const std::string& condition) {
  std::string lines;
  for (const CLI::Option* option : command.get_options()) {
    if (option->get_lnames().empty() && option->get_snames().empty()) continue;
    std::string line = "complete -c polaris -n " + fish_quote(condition);
    for (const auto& name : option->get_snames()) line += " -s " + name;
    for (const auto& name : option->get_lnames()) line += " -l " + name;
    // -x: a value, never a file name (no polaris flag takes a path to complete).
    if (option->get_type_size() > 0 && option->get_expected_min() > 0) line += " -x";
    if (option->check_lname("output")) line += " -a 'table wide json name'";
    const std::string description = option->get_description().substr(0, 80);
    lines += line + " -d " + fish_quote(description) + "\n";
  }
  return lines;
}

std::string fish_script(CLI::App& app) {
  std::string text =
      "# fish completion for polaris (polaris completion fish)\n"
      "# Tool names from the live catalogue, through the --server given on the line (if any).\n"
      "function __polaris_tools\n"
      "  set -l words (commandline -opc)\n"
      "  set -l servers\n"
      "  for i in (seq 2 (count $words))\n"
      "    if contains -- $words[(math $i - 1)] -s --server\n"
      "      set -a servers --server $words[$i]\n"
      "    end\n"
      "  end\n"
      "  polaris tools -o name $servers 2>/dev/null\n"
      "end\n"
      "complete -c polaris -f\n" +
      fish_flags(app, "__fish_use_subcommand");
  for (CLI::App* command : commands_of(app)) {
    text += "complete -c polaris -n __fish_use_subcommand -a " + command->get_name() + " -d " +
            fish_quote(command->get_description().substr(0, 80)) + "\n";
    const std::string in = "__fish_seen_subcommand_from " + command->get_name();
    const auto subcommands = commands_of(*command);
    for (CLI::App* sub : subcommands) {
      text += "complete -c polaris -n " +
              fish_quote(in + "; and not __fish_seen_subcommand_from " + command_names(*command)) +
              " -a " + sub->get_name() + " -d " + fish_quote(sub->get_description().substr(0, 80)) +
              "\n";
      text += fish_flags(*sub, in + "; and __fish_seen_subcommand_from " + sub->get_name());
    }
    if (subcommands.empty()) text += fish_flags(*command, in);
    if (takes_a_tool(command->get_name())) {
      text += "complete -c polaris -n " + fish_quote(in) + " -a '(__polaris_tools)'\n";
    }
  }
  text +=
      "complete -c polaris -n '__fish_seen_subcommand_from chat' -l tool -x -a "
      "'(__polaris_tools)'\n";
  text += "complete -c polaris -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'\n";
  return text;
}

// roff: a leading dot or quote would be a request; backslashes and hyphens are escaped.
std::string roff(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out = "\\&" + out;
  return out;
}

void man_options(std::string& page, CLI::App& command) {
  for (const CLI::Option* option : command.get_options()) {
    std::string names;
    for (const auto& name : option->get_snames()) names += (names.empty() ? "-" : ", -") + name;
    for (const auto& name : option->get_lnames()) names += (names.empty() ? "--" : ", --") + name;
    if (names.empty()) names = option->get_name();
    page += ".TP\n.B " + roff(names) + "\n" + roff(option->get_description()) + "\n";
  }
}

std::string man_page(CLI::App& app) {
  std::string page = ".TH POLARIS 1 \"\" \"polaris " + std::string(version()) +
                     "\" \"User Commands\"\n"
                     ".SH NAME\npolaris \\- " +
                     roff(app.get_description()) +
                     "\n.SH SYNOPSIS\n.B polaris\n[\\fIOPTIONS\\fR] \\fICOMMAND\\fR "
                     "[\\fIARGS\\fR]\n.SH DESCRIPTION\nRuns registry nodes of a polaris "
                     "cluster, lists and calls its tools, runs model sessions over them, bridges "
                     "MCP, and reports the cluster's status and statistics. "
                     "\\fBpolaris help\\fR \\fICOMMAND\\fR prints the help of one command.\n"
                     ".SH GLOBAL OPTIONS\n";
  man_options(page, app);
  page += ".SH COMMANDS\n";
  for (CLI::App* command : commands_of(app)) {
    const auto subcommands = commands_of(*command);
    std::vector<CLI::App*> leaves = subcommands;
    if (leaves.empty()) leaves.push_back(command);
    for (CLI::App* leaf : leaves) {
      const std::string name =
          leaf == command ? command->get_name() : command->get_name() + " " + leaf->get_name();
      page += ".SS \"polaris " + roff(name) + "\"\n" + roff(leaf->get_description()) + "\n";
      man_options(page, *leaf);
    }
  }
  page +=
      ".SH ENVIRONMENT\n.TP\n.B POLARIS_SERVERS\nRegistry URLs, comma-separated (default "
      "nats://127.0.0.1:4222).\n.TP\n.B POLARIS_USER, POLARIS_PASSWORD, POLARIS_TOKEN\n"
      "Credentials of client commands (never on the command line).\n.TP\n"
      ".B POLARIS_TLS_CA, POLARIS_TLS_CERT, POLARIS_TLS_KEY\nTLS: the CA file and a client "
      "certificate.\n.TP\n.B POLARIS_LOG_LEVEL, POLARIS_LOG_FORMAT\nDefaults of \\-\\-log\\-level "
      "and \\-\\-log\\-format.\n.TP\n.B NO_COLOR\nNo colour in tables.\n"
      ".SH EXIT STATUS\n0 success; 1 failure (a tool's error, no such tool, timeout); 2 usage "
      "error; 3 cannot connect.\n"
      ".SH FILES\n.TP\n.B /etc/polaris/NAME.yaml\nThe security configuration of the registry "
      "node run by the systemd unit polaris\\-registry@NAME.service (Debian package).\n";
  return page;
}

}  // namespace

void add_completion_command(CLI::App& app, int& exit_code) {
  auto shell = std::make_shared<std::string>();
  CLI::App* command = app.add_subcommand(
      "completion",
      "Print the shell completion script for bash, zsh or fish (tool names come from the live "
      "catalogue)");
  command->add_option("shell", *shell, "bash, zsh or fish")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  command->footer(
      "Installed by cmake --install (and the Debian package) where each shell finds it; to try "
      "one: source <(polaris completion bash)");
  command->callback([&app, shell] {
    if (*shell == "bash") std::cout << bash_script(app);
    if (*shell == "zsh") std::cout << zsh_script(app);
    if (*shell == "fish") std::cout << fish_script(app);
  });
  CLI::App* man = app.add_subcommand("man", "Print the polaris(1) manual page (roff)");
  man->callback([&app, &exit_code] {
    std::cout << man_page(app);
    exit_code = kSuccess;
  });
}

}  // namespace polaris::cli
