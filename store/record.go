package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/store/storepb"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// recordCRC is the CRC-32C of key and rec (as version) in the canonical
// encoding that store.proto's StoredRecord.crc32c describes.
func recordCRC(key Key, version uint64, typ string, schema uint32, data []byte) uint32 {
	var buf [binary.MaxVarintLen64]byte
	crc := uint32(0)
	bytesField := func(n int) {
		crc = crc32.Update(crc, castagnoli, buf[:binary.PutUvarint(buf[:], uint64(n))])
	}
	bytesField(len(key.Kind))
	crc = crc32.Update(crc, castagnoli, []byte(key.Kind))
	bytesField(len(key.Identity))
	crc = crc32.Update(crc, castagnoli, []byte(key.Identity))
	binary.BigEndian.PutUint64(buf[:8], version)
	crc = crc32.Update(crc, castagnoli, buf[:8])
	bytesField(len(typ))
	crc = crc32.Update(crc, castagnoli, []byte(typ))
	binary.BigEndian.PutUint32(buf[:4], schema)
	crc = crc32.Update(crc, castagnoli, buf[:4])
	bytesField(len(data))
	return crc32.Update(crc, castagnoli, data)
}

// MarshalRecord is the stored form (a storepb.StoredRecord with its
// checksum) of rec committed as version under key: the value every store
// keeps, so that a record moves between stores unchanged.
func MarshalRecord(key Key, version uint64, rec Record) ([]byte, error) {
	return encodeRecord(key, version, rec)
}

// UnmarshalRecord turns key's stored value back into its Record, verifying
// its checksum. The error says what is wrong; the caller wraps ErrCorrupt
// and names where the value came from.
func UnmarshalRecord(key Key, value []byte) (Record, error) { return decodeRecord(key, value) }

// encodeRecord is the stored form of rec committed as version under key.
func encodeRecord(key Key, version uint64, rec Record) ([]byte, error) {
	return proto.Marshal(&storepb.StoredRecord{
		Version: version,
		Type:    rec.Type,
		Schema:  rec.Schema,
		Data:    rec.Data,
		Crc32C:  recordCRC(key, version, rec.Type, rec.Schema, rec.Data),
	})
}

// decodeRecord turns key's stored value back into its Record, verifying
// it. The error, if any, says what is wrong; the caller wraps ErrCorrupt
// and names the file. The Record does not alias value.
func decodeRecord(key Key, value []byte) (Record, error) {
	var sr storepb.StoredRecord
	if err := proto.Unmarshal(value, &sr); err != nil {
		return Record{}, fmt.Errorf("undecodable record (%d bytes): %w", len(value), err)
	}
	if sr.Version == 0 {
		return Record{}, errors.New("record has version 0")
	}
	if want := recordCRC(key, sr.Version, sr.Type, sr.Schema, sr.Data); sr.Crc32C != want {
		return Record{}, fmt.Errorf("checksum mismatch: stored %08x, computed %08x (version %d)", sr.Crc32C, want, sr.Version)
	}
	data := sr.Data // Unmarshal copied it out of value
	if len(data) == 0 {
		data = nil
	}
	return Record{Version: sr.Version, Type: sr.Type, Schema: sr.Schema, Data: data}, nil
}
