-- net_checksum: a Fletcher-style checksum over 64-bit words, shared by the
-- networking tests' client and server.  Data goes in whole 64 KiB chunks
-- (string length a multiple of 8); the result is a hex string.

local WORD_FORMAT = "<" .. string.rep("i8", 8192) -- one 64 KiB chunk

local checksum = {}
checksum.CHUNK = 65536

function checksum.new()
	return { low = 0, high = 0 }
end

-- Adds one chunk of exactly CHUNK bytes (integer arithmetic wraps).
function checksum.add(state, chunk)
	assert(#chunk == checksum.CHUNK, "net_checksum: chunks must be 64 KiB")
	local words = table.pack(string.unpack(WORD_FORMAT, chunk))
	local low, high = state.low, state.high
	for i = 1, 8192 do
		low = low + words[i]
		high = high + low
	end
	state.low, state.high = low, high
end

function checksum.result(state)
	return string.format("%016x%016x", state.high, state.low)
end

-- A reproducible 64 KiB chunk for index i (16 different patterns).
local patterns = {}
function checksum.pattern(i)
	local k = i % 16 + 1
	local chunk = patterns[k]
	if chunk == nil then
		local words, x = {}, k * 0x9e3779b97f4a7c15
		for w = 1, 8192 do
			x = x * 6364136223846793005 + 1442695040888963407
			words[w] = x
		end
		chunk = string.pack(WORD_FORMAT, table.unpack(words))
		patterns[k] = chunk
	end
	return chunk
end

return checksum
