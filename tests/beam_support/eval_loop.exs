# The KV node's side of tests/beam_support/mod.rs, run as the node's script by `elixir`.
#
# Starts the kv application (compiled from tests/fixtures/kv_elixir, on the code path with
# -pa), says so on standard output, then evaluates the Elixir code the test sends on standard
# input, one request a line, until standard input closes (the test ended, or died without
# killing the node): then it halts the node.
#
#   test -> node   ID HEX            the code, base 16
#   node -> test   \1otpscope ready NODE
#                  \1otpscope reply ID ok|error HEX
#
# A reply's text is what the code printed if it printed anything, else its value: a string
# as it is, anything else inspected. An error's text is the formatted exception or exit.
# Each request runs in a process of its own whose group leader captures what it prints;
# the node's other output (logger reports of crashes) goes to standard output as usual,
# and the test keeps it for its failure messages.
#
# No module is defined here: the node's modules are the kv app's and the stock ones.

{:ok, _} = Application.ensure_all_started(:kv)
marker = "\u0001otpscope"
IO.puts("#{marker} ready #{node()}")

as_text = fn
  value when is_binary(value) -> value
  value -> inspect(value, limit: :infinity, printable_limit: :infinity)
end

evaluate = fn code ->
  parent = self()
  {:ok, io} = StringIO.open("")

  {pid, ref} =
    spawn_monitor(fn ->
      Process.group_leader(self(), io)

      result =
        try do
          {value, _binding} = Code.eval_string(code)
          {:ok, value}
        catch
          kind, reason -> {:error, Exception.format(kind, reason, __STACKTRACE__)}
        end

      send(parent, {self(), result})
    end)

  result =
    receive do
      {^pid, result} ->
        Process.demonitor(ref, [:flush])
        result

      {:DOWN, ^ref, :process, ^pid, reason} ->
        {:error, "the evaluating process exited: #{inspect(reason)}"}
    end

  {:ok, {_input, printed}} = StringIO.close(io)

  case result do
    {:ok, _value} when printed != "" -> {:ok, printed}
    {:ok, value} -> {:ok, as_text.(value)}
    {:error, text} -> {:error, printed <> text}
  end
end

serve = fn serve ->
  case IO.read(:stdio, :line) do
    line when is_binary(line) ->
      [id, hex] = String.split(String.trim_trailing(line) <> " ", " ", parts: 2)
      {status, text} = evaluate.(Base.decode16!(String.trim(hex), case: :mixed))
      IO.puts("#{marker} reply #{id} #{status} #{Base.encode16(text)}")
      serve.(serve)

    _eof_or_error ->
      System.halt(0)
  end
end

serve.(serve)
